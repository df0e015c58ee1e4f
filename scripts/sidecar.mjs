// What Tauri's bundler takes from outside the app's own build (packaging/tauri.package.json):
//
// - `node scripts/sidecar.mjs` (beforeBuildCommand): builds the `ferry` command and puts it
//   where the bundler takes external binaries from (bundle.externalBin =
//   target/sidecar/ferry), named with the target triple as the bundler requires. The
//   packages install it beside the app: /usr/bin/ferry in the .deb and .rpm, next to
//   ferry-app.exe on Windows, in Ferry.app/Contents/MacOS on macOS. On Linux it also
//   writes the compressed changelog and man pages the .deb and .rpm install.
// - `node scripts/sidecar.mjs app` (beforeBundleCommand, after the app is compiled):
//   strips the app's symbols on Linux. Only the packaged copies are stripped; the release
//   profile keeps its settings, so `make run` and the tests build exactly as before.
//
// Node rather than bash: the release workflow runs this on Windows too.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";

const root = resolve(import.meta.dirname, "..");
const host = /^host: (.+)$/m.exec(execFileSync("rustc", ["-vV"], { encoding: "utf8" }))[1];
// The Tauri CLI tells its before-build and before-bundle commands the target it builds for.
const triple = process.env.TAURI_ENV_TARGET_TRIPLE || host;
const targetDir = process.env.CARGO_TARGET_DIR
  ? resolve(process.env.CARGO_TARGET_DIR)
  : join(root, "target");
// Only a cross build names its target: `--target <host>` would put the binaries in another
// folder and compile ferry-core a second time for nothing.
const cross = triple !== host;
const releaseDir = join(targetDir, ...(cross ? [triple] : []), "release");
const exe = triple.includes("windows") ? ".exe" : "";
const linux = triple.includes("linux");
const out = join(root, "target", "sidecar");

/** Debian policy: installed binaries carry no symbols (lintian: unstripped-binary-or-object). */
function strip(path) {
  if (linux) execFileSync("strip", ["--strip-unneeded", "--remove-section=.comment", path], { stdio: "inherit" });
}

if (process.argv[2] === "app") {
  strip(join(releaseDir, `ferry-app${exe}`));
  console.log(`sidecar: stripped ${join(releaseDir, `ferry-app${exe}`)}`);
} else {
  const args = ["build", "--release", "--locked", "-p", "ferry-cli"];
  if (cross) args.push("--target", triple);
  execFileSync("cargo", args, { cwd: root, stdio: "inherit" });
  mkdirSync(out, { recursive: true });
  const sidecar = join(out, `ferry-${triple}${exe}`);
  copyFileSync(join(releaseDir, `ferry${exe}`), sidecar);
  strip(sidecar);
  console.log(`sidecar: ferry for ${triple} -> ${sidecar}`);
  if (linux) {
    // gzip -9n: no name or time in the header, so the same sources give the same bytes.
    const docs = join(out, "doc");
    mkdirSync(docs, { recursive: true });
    for (const [src, dst] of [
      ["packaging/changelog", "changelog.gz"],
      ["packaging/man/ferry.1", "ferry.1.gz"],
      ["packaging/man/ferry-app.1", "ferry-app.1.gz"],
    ]) {
      writeFileSync(join(docs, dst), gzipSync(readFileSync(join(root, src)), { level: 9 }));
    }
  }
}
