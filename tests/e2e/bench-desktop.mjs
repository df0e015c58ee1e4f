// The driven half of bench/desktop (which fills FERRY_HOME and starts tauri-driver):
// opens the library of 1,000 items, waits for the thumbnails and a quiet moment, sums the
// RSS/PSS of the app and its WebKit processes, then uploads a 4 GiB file while sampling
// how the page keeps up and counting the Channel messages the app logged. Prints JSON.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { remote } from "webdriverio";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run bench/desktop`);
  return v;
};
const home = env("FERRY_HOME");
const TIMEOUT = 120_000;
const tid = (id, extra = "") => `[data-testid="${id}"]${extra}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The app (found by its FERRY_HOME) and every process under it (WebKit's). */
function appTree() {
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

function memory(pids) {
  let rss = 0;
  let pss = 0;
  let anon = 0;
  const each = [];
  for (const pid of pids) {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const r = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const p = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    const a = Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    rss += r;
    pss += p;
    anon += a;
    const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    each.push(`${comm} rss ${Math.round(r / 1024)} pss ${Math.round(p / 1024)} anon ${Math.round(a / 1024)} MiB`);
  }
  return { rss, pss, anon, each };
}

/** Longest gap between animation frames over about a second (ms; -1: no frames). */
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

try {
  await browser.$(tid("screen-queue")).waitForExist({ timeout: TIMEOUT });
  await browser.$(tid("nav-library")).click();
  await browser.$(tid("library-row")).waitForExist({ timeout: TIMEOUT });
  const thumbs = () => {
    try {
      return readdirSync(join(home, "thumbs")).filter((f) => !f.startsWith(".")).length;
    } catch {
      return 0;
    }
  };
  const deadline = Date.now() + TIMEOUT;
  while (thumbs() < 1000 && Date.now() < deadline) await sleep(250);
  await sleep(5000); // idle: thumbnails shown, nothing running
  const tree = appTree();
  const idle = memory(tree);

  const from = Date.now() / 1000;
  const [id] = await invoke("queue_add_paths", { paths: [env("FERRY_BENCH_FILE")], account: "big", origin: "pick" });
  await browser.$(tid("nav-queue")).click();
  let maxFrameGap = 0;
  let framesStopped = false;
  let maxRoundTrip = 0;
  for (;;) {
    const t = Date.now();
    await browser.execute(() => 1);
    maxRoundTrip = Math.max(maxRoundTrip, Date.now() - t);
    const gap = await frameGap();
    if (gap < 0) framesStopped = true;
    else maxFrameGap = Math.max(maxFrameGap, gap);
    const jobs = (await invoke("queue_list", { page: { limit: 1000 } })).jobs;
    const job = jobs.find((j) => j.id === id);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) {
      if (job.status !== "succeeded") throw new Error(`the upload ended ${job.status}: ${JSON.stringify(job.error)}`);
      break;
    }
  }
  const to = Date.now() / 1000;

  // Channel messages the app sent meanwhile (it logs each at debug level).
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
  console.log(
    JSON.stringify({
      processes: tree.length,
      rssKiB: idle.rss,
      pssKiB: idle.pss,
      anonKiB: idle.anon,
      perProcess: idle.each,
      uploadSecs: Math.round((to - from) * 10) / 10,
      messages: times.length,
      maxMessagesPerSec,
      maxFrameGapMs: framesStopped ? "no frames for 3 s" : maxFrameGap,
      maxRoundTripMs: maxRoundTrip,
    }),
  );
} finally {
  await browser.deleteSession().catch(() => {});
}
