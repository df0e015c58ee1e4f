// The driven half of bench/desktop-scale: the app opens a FERRY_HOME of 100,000 library
// items and 12,000 jobs, 2,000 of them queued (small files to the local library), and
// sends them at once. While it does, this samples how the page keeps up (longest gap
// between animation frames, slowest WebDriver round trip) with the queue screen showing,
// then counts the Channel messages the app logged in that time. Prints JSON.
import { readFileSync } from "node:fs";
import { remote } from "webdriverio";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run bench/desktop-scale`);
  return v;
};
const TIMEOUT = 120_000;
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
const invoke = (cmd, args) => browser.execute((cmd, args) => window.__TAURI_INTERNALS__.invoke(cmd, args), cmd, args);
const frameGap = () =>
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

try {
  await browser.$('[data-testid="queue-row"]').waitForExist({ timeout: TIMEOUT });
  const from = Date.now() / 1000;
  let maxFrameGap = 0;
  let framesStopped = false;
  let maxRoundTrip = 0;
  let samples = 0;
  let left = Infinity;
  const deadline = Date.now() + Number(process.env.FERRY_BENCH_SECS ?? 60) * 1000;
  while (left > 0 && Date.now() < deadline) {
    const t = Date.now();
    await browser.execute(() => 1);
    maxRoundTrip = Math.max(maxRoundTrip, Date.now() - t);
    const gap = await frameGap();
    if (gap < 0) framesStopped = true;
    else maxFrameGap = Math.max(maxFrameGap, gap);
    samples++;
    const { summary } = await invoke("queue_list", { page: { limit: 0 } });
    left = summary.queued + summary.running + summary.waitingRetry;
  }
  const to = Date.now() / 1000;
  const rendered = await browser.execute(() => document.querySelectorAll('[data-testid="queue-row"]').length);
  const times = readFileSync(env("FERRY_BENCH_LOG"), "utf8")
    .split("\n")
    .filter((l) => l.includes("channel message"))
    .map((l) => Date.parse(l.trim().split(/\s+/)[0]) / 1000)
    .filter((t) => t >= from && t <= to);
  let maxMessagesPerSec = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1) j++;
    maxMessagesPerSec = Math.max(maxMessagesPerSec, i - j + 1);
  }
  console.log(JSON.stringify({
    secs: Math.round((to - from) * 10) / 10, left, samples, messages: times.length, maxMessagesPerSec,
    maxFrameGapMs: framesStopped ? "no frames for 3 s" : maxFrameGap, maxRoundTripMs: maxRoundTrip, renderedRows: rendered,
  }));
} finally {
  await browser.deleteSession().catch(() => {});
}
