// The driven half of bench/desktop-scale: the app opens a FERRY_HOME of 100,000 library
// items and 12,000 jobs, 2,000 of them queued (small files to the local library), and
// sends them at once. While it does, this samples how the page keeps up (longest gap
// between animation frames, slowest WebDriver round trip) with the queue screen showing,
// then counts the Channel messages the app logged in that time. Prints JSON.
import { appTree, channelMessages, connect, env, memory, pageSampler, sleep, tid, TIMEOUT } from "./bench-lib.mjs";

const { browser, invoke } = await connect();

try {
  await browser.$('[data-testid="queue-row"]').waitForExist({ timeout: TIMEOUT });
  const from = Date.now() / 1000;
  const sampler = pageSampler(browser);
  let left = Infinity;
  const deadline = Date.now() + Number(process.env.FERRY_BENCH_SECS ?? 60) * 1000;
  while (left > 0 && Date.now() < deadline) {
    await sampler.sample();
    const { summary } = await invoke("queue_list", { page: { limit: 0 } });
    left = summary.queued + summary.running + summary.waitingRetry;
  }
  const to = Date.now() / 1000;
  const rendered = await browser.execute(() => document.querySelectorAll('[data-testid="queue-row"]').length);
  const messages = channelMessages(env("FERRY_BENCH_LOG"), from, to);
  // Then idle with the library of 100,000 open (its first page and thumbnails shown).
  await browser.$(tid("nav-library")).click();
  await browser.$(tid("library-row")).waitForExist({ timeout: TIMEOUT });
  await sleep(8000);
  const idle = memory(appTree(env("FERRY_HOME")));
  console.log(JSON.stringify({
    secs: Math.round((to - from) * 10) / 10, left, messages: messages.count, maxMessagesPerSec: messages.maxPerSec,
    ...sampler.result(), renderedRows: rendered,
    idleRssKiB: idle.rss, idlePssKiB: idle.pss, perProcess: idle.each,
  }));
} finally {
  await browser.deleteSession().catch(() => {});
}
