// The driven half of bench/desktop (which fills FERRY_HOME and starts tauri-driver):
// opens the library of 1,000 items, waits for the thumbnails and a quiet moment, sums the
// RSS/PSS of the app and its WebKit processes, then uploads a 4 GiB file while sampling
// how the page keeps up and counting the Channel messages the app logged. Prints JSON.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { appTree, channelMessages, connect, env, memory, pageSampler, sleep, tid, TIMEOUT } from "./bench-lib.mjs";

const home = env("FERRY_HOME");
const { browser, invoke } = await connect();

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
  const tree = appTree(home);
  const idle = memory(tree);

  const from = Date.now() / 1000;
  const [id] = await invoke("queue_add_paths", { paths: [env("FERRY_BENCH_FILE")], account: "big", origin: "pick" });
  await browser.$(tid("nav-queue")).click();
  const sampler = pageSampler(browser);
  for (;;) {
    await sampler.sample();
    const jobs = (await invoke("queue_list", { page: { limit: 1000 } })).jobs;
    const job = jobs.find((j) => j.id === id);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) {
      if (job.status !== "succeeded") throw new Error(`the upload ended ${job.status}: ${JSON.stringify(job.error)}`);
      break;
    }
  }
  const to = Date.now() / 1000;

  // Channel messages the app sent meanwhile (it logs each at debug level).
  const messages = channelMessages(env("FERRY_BENCH_LOG"), from, to);
  console.log(
    JSON.stringify({
      processes: tree.length,
      rssKiB: idle.rss,
      pssKiB: idle.pss,
      anonKiB: idle.anon,
      perProcess: idle.each,
      uploadSecs: Math.round((to - from) * 10) / 10,
      messages: messages.count,
      maxMessagesPerSec: messages.maxPerSec,
      ...sampler.result(),
    }),
  );
} finally {
  await browser.deleteSession().catch(() => {});
}
