// Builds the `ferry` command and puts it where Tauri's bundler takes external binaries
// from (packaging/tauri.package.json: bundle.externalBin = target/sidecar/ferry), named
// with the target triple as the bundler requires. The packages then install it beside the
// app: /usr/bin/ferry in the .deb and .rpm, next to Ferry.exe on Windows, in
// Ferry.app/Contents/MacOS on macOS.
//
// Run by the bundler as part of beforeBuildCommand (so `make package` and the release
// workflow do the same thing). Node rather than bash: the bundler also runs it on Windows.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const host = /^host: (.+)$/m.exec(execFileSync("rustc", ["-vV"], { encoding: "utf8" }))[1];
// The Tauri CLI tells before-build commands which target it builds for.
const triple = process.env.TAURI_ENV_TARGET_TRIPLE || host;
const targetDir = process.env.CARGO_TARGET_DIR
  ? resolve(process.env.CARGO_TARGET_DIR)
  : join(root, "target");
// Only a cross build names its target: `--target <host>` would put the CLI in another
// folder and compile ferry-core a second time for nothing.
const cross = triple !== host;
const args = ["build", "--release", "--locked", "-p", "ferry-cli"];
if (cross) args.push("--target", triple);
execFileSync("cargo", args, { cwd: root, stdio: "inherit" });

const exe = triple.includes("windows") ? ".exe" : "";
const built = join(targetDir, ...(cross ? [triple] : []), "release", `ferry${exe}`);
const sidecarDir = join(root, "target", "sidecar");
mkdirSync(sidecarDir, { recursive: true });
copyFileSync(built, join(sidecarDir, `ferry-${triple}${exe}`));
console.log(`sidecar: ferry for ${triple} -> target/sidecar/ferry-${triple}${exe}`);
