// The driven half of bench/desktop-drop: the app, with the most files per drop raised to
// FERRY_BENCH_LIMIT, is handed a folder of FERRY_BENCH_COUNT files the way a drop hands it
// one (queue_add_paths with the folder's path, origin "drop"). Meanwhile it samples how
// the page keeps up and how many jobs are queued; at the end, the app's memory. Prints JSON.
import { appTree, connect, env, memory, pageSampler, sleep, tid, TIMEOUT } from "./bench-lib.mjs";

const home = env("FERRY_HOME");
const folder = env("FERRY_BENCH_FOLDER");
const count = Number(env("FERRY_BENCH_COUNT"));
const { browser, invoke } = await connect();

try {
  await browser.$(tid("screen-queue")).waitForExist({ timeout: TIMEOUT });
  const settings = await invoke("settings_get", {});
  await invoke("settings_set", { settings: { ...settings, dropLimit: Number(env("FERRY_BENCH_LIMIT")) } });
  const before = memory(appTree(home));

  const from = Date.now();
  // Not awaited through WebDriver: the drop runs in the page as a drop does, and this
  // process keeps sampling while it does.
  await browser.execute((folder) => {
    window.__benchDrop = null;
    window.__TAURI_INTERNALS__
      .invoke("queue_add_paths", { paths: [folder], account: "library", origin: "drop" })
      .then((ids) => { window.__benchDrop = { ok: ids.length, at: Date.now() }; },
        (e) => { window.__benchDrop = { error: JSON.stringify(e), at: Date.now() }; });
  }, folder);
  const sampler = pageSampler(browser);
  let bannerSeen = false;
  let done = null;
  let peak = before;
  const deadline = Date.now() + Number(process.env.FERRY_BENCH_SECS ?? 600) * 1000;
  while (!done && Date.now() < deadline) {
    await sampler.sample();
    done = await browser.execute(() => window.__benchDrop);
    if (!bannerSeen) bannerSeen = await browser.$(tid("adding-banner")).isExisting();
    const m = memory(appTree(home));
    if (m.rss > peak.rss) peak = m;
    if (!done) await sleep(200);
  }
  if (!done) throw new Error(`the drop did not end in ${process.env.FERRY_BENCH_SECS ?? 600} s`);
  if (done.error) throw new Error(`the drop failed: ${done.error}`);
  const queuedSecs = (done.at - from) / 1000;
  const { summary } = await invoke("queue_list", { page: { limit: 0 } });
  const end = memory(appTree(home));
  // The first process of the tree is ferry-app itself; the rest are WebKit's.
  const app = (m) => Number(/rss (\d+)/.exec(m.each[0])[1]);
  console.log(
    JSON.stringify({
      files: count,
      jobs: done.ok,
      jobsInQueue: summary.total,
      queuedSecs: Math.round(queuedSecs * 10) / 10,
      bannerSeen,
      ...sampler.result(),
      appRssBeforeMiB: app(before),
      appRssEndMiB: app(end),
      appPeakMiB: Math.round(/peak (\d+)/.exec(end.each[0])[1]),
      treeRssEndMiB: Math.round(end.rss / 1024),
      treePssEndMiB: Math.round(end.pss / 1024),
      treeRssPeakSampledMiB: Math.round(peak.rss / 1024),
      perProcess: end.each,
    }),
  );
} finally {
  await browser.deleteSession().catch(() => {});
}
