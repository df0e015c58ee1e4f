// What the driven benchmarks (bench-desktop, bench-scale, bench-drop) share: the WebDriver
// session on the release app, the app's process tree and its memory, how the page keeps
// up (animation-frame gaps), and the Channel messages the app logged. Benchmarks only:
// no assertions about time live here.
import { readdirSync, readFileSync } from "node:fs";
import { remote } from "webdriverio";

export const TIMEOUT = 120_000;
export const tid = (id, extra = "") => `[data-testid="${id}"]${extra}`;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An environment variable the calling script must set. */
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the bench/ script that calls this`);
  return v;
}

/** A WebDriver session on FERRY_BENCH_APP through tauri-driver on FERRY_BENCH_PORT, and
 * `invoke` for the app's commands through the page. */
export async function connect() {
  const browser = await remote({
    hostname: "127.0.0.1",
    port: Number(env("FERRY_BENCH_PORT")),
    logLevel: "warn",
    connectionRetryTimeout: TIMEOUT,
    capabilities: {
      "tauri:options": { application: env("FERRY_BENCH_APP") },
      "wdio:enforceWebDriverClassic": true,
    },
  });
  const invoke = (cmd, args) =>
    browser.execute((cmd, args) => window.__TAURI_INTERNALS__.invoke(cmd, args), cmd, args);
  return { browser, invoke };
}

/** The app (found by its FERRY_HOME) and every process under it (WebKit's). */
export function appTree(home) {
  const procs = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  const parent = new Map();
  let app = null;
  for (const pid of procs) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      parent.set(pid, stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      if (comm === "ferry-app") {
        const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
        if (environ.includes(`FERRY_HOME=${home}`)) app = pid;
      }
    } catch {
      // gone meanwhile
    }
  }
  if (!app) throw new Error("the app's process was not found");
  const tree = [app];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/** RSS, PSS and anonymous memory (KiB) summed over `pids`, and a line per process. */
export function memory(pids) {
  let rss = 0;
  let pss = 0;
  let anon = 0;
  let hwm = 0;
  const each = [];
  for (const pid of pids) {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const r = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const h = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const p = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    const a = Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    rss += r;
    pss += p;
    anon += a;
    hwm += h;
    const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    each.push(`${comm} rss ${Math.round(r / 1024)} (peak ${Math.round(h / 1024)}) pss ${Math.round(p / 1024)} anon ${Math.round(a / 1024)} MiB`);
  }
  return { rss, pss, anon, hwm, each };
}

/** Longest gap between animation frames over about a second (ms; -1: no frames for 3 s). */
const frameGap = (browser) =>
  browser.execute(
    () =>
      new Promise((resolve) => {
        let last = performance.now();
        let max = 0;
        let n = 0;
        const giveUp = setTimeout(() => resolve(-1), 3000);
        const frame = (t) => {
          max = Math.max(max, t - last);
          last = t;
          if (++n < 60) requestAnimationFrame(frame);
          else {
            clearTimeout(giveUp);
            resolve(Math.round(max));
          }
        };
        requestAnimationFrame(frame);
      }),
  );

/** How the page keeps up, sampled in a loop: each `sample()` times one WebDriver round trip
 * and measures the longest animation-frame gap over about a second; `result()` gives the
 * worst of each ("no frames for 3 s" when frames stopped) and the number of samples. */
export function pageSampler(browser) {
  let maxFrameGap = 0;
  let framesStopped = false;
  let maxRoundTrip = 0;
  let samples = 0;
  return {
    async sample() {
      const t = Date.now();
      await browser.execute(() => 1);
      maxRoundTrip = Math.max(maxRoundTrip, Date.now() - t);
      const gap = await frameGap(browser);
      if (gap < 0) framesStopped = true;
      else maxFrameGap = Math.max(maxFrameGap, gap);
      samples++;
    },
    result: () => ({
      maxFrameGapMs: framesStopped ? "no frames for 3 s" : maxFrameGap,
      maxRoundTripMs: maxRoundTrip,
      samples,
    }),
  };
}

/** The Channel messages the app logged (at debug level) between `from` and `to` (seconds
 * since the epoch): how many, and the most in any one second. */
export function channelMessages(log, from, to) {
  const times = readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l.includes("channel message"))
    .map((l) => Date.parse(l.trim().split(/\s+/)[0]) / 1000)
    .filter((t) => t >= from && t <= to);
  let maxPerSec = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1) j++;
    maxPerSec = Math.max(maxPerSec, i - j + 1);
  }
  return { count: times.length, maxPerSec };
}
