// Shared by the browser tests: a tiny static server for the BUILT UI (dist/) on 127.0.0.1,
// headless Debian chromium through playwright-core, and the mocked Rust side injected
// before the app's own scripts.
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const dist = join(root, "dist");
const mockScript = join(root, "dist-mock", "mock.js");
export const shots = join(root, "test-results");

const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

function thumb(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${h},70%,62%)"/><stop offset="1" stop-color="hsl(${(h + 60) % 360},70%,42%)"/></linearGradient></defs><rect width="96" height="96" fill="url(#g)"/><circle cx="68" cy="30" r="12" fill="rgba(255,255,255,.7)"/><path d="M0 80 L34 44 L60 70 L74 58 L96 80 V96 H0Z" fill="rgba(0,0,0,.25)"/></svg>`;
}

export async function startServer() {
  if (!existsSync(join(dist, "index.html"))) throw new Error("build the UI first: npm run build");
  if (!existsSync(mockScript)) throw new Error("build the mock first: vite build --config vite.mock.config.ts");
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.startsWith("/__thumb/")) {
      res.writeHead(200, { "content-type": "image/svg+xml" });
      res.end(thumb(decodeURIComponent(url.pathname.slice(9))));
      return;
    }
    const rel = normalize(decodeURIComponent(url.pathname === "/" ? "/index.html" : url.pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dist, rel);
    if (!file.startsWith(dist)) { res.writeHead(403); res.end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((ok) => server.close(ok)) };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * A fresh page on the built UI with the mocked Rust side.
 * @param {import("playwright-core").Browser} browser
 * @param {string} url
 * @param {{ scenario?: object, colorScheme?: "light" | "dark", reducedMotion?: "reduce" | "no-preference" }} [opts]
 */
export async function openApp(browser, url, opts = {}) {
  const context = await browser.newContext({
    viewport: { width: 1100, height: 720 },
    colorScheme: opts.colorScheme ?? "light",
    reducedMotion: opts.reducedMotion ?? "reduce",
  });
  // Nothing may leave 127.0.0.1.
  await context.route(/^(?!http:\/\/127\.0\.0\.1[:/]).*/, (route) => route.abort());
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.addInitScript((s) => { window.__ferryScenario = s; }, opts.scenario ?? {});
  await page.addInitScript({ path: mockScript });
  await page.goto(url);
  await page.getByTestId("screen-queue").waitFor();
  return { page, context, errors };
}

/** Invocations of one command recorded by the mock. */
export async function callsOf(page, cmd) {
  return page.evaluate((c) => window.__ferryMock.calls.filter((x) => x.cmd === c).map((x) => x.args), cmd);
}

export async function screenshot(page, name) {
  await mkdir(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`) });
}
