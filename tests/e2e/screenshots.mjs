// Drives the real app for scripts/screenshots (which fills FERRY_HOME with real data and
// starts tauri-driver): adds a stalled and a paused job through the app's own commands,
// visits each screen and captures the app's window with ImageMagick `import`.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { remote } from "webdriverio";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run scripts/screenshots`);
  return v;
};
const out = env("FERRY_SHOTS_OUT");
const TIMEOUT = 60_000;
const tid = (id, extra = "") => `[data-testid="${id}"]${extra}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const browser = await remote({
  hostname: "127.0.0.1",
  port: Number(env("FERRY_SHOTS_PORT")),
  logLevel: "warn",
  connectionRetryTimeout: TIMEOUT,
  capabilities: {
    "tauri:options": { application: env("FERRY_SHOTS_APP") },
    "wdio:enforceWebDriverClassic": true,
  },
});

const invoke = (cmd, args) =>
  browser.execute((cmd, args) => window.__TAURI_INTERNALS__.invoke(cmd, args), cmd, args);

/** The app window's pixels, as the screen shows them. */
async function shot(name) {
  await sleep(600); // let transitions and image decoding settle
  const { x, y, width, height } = await browser.getWindowRect();
  const file = join(out, `${name}.png`);
  execFileSync("import", ["-window", "root", "-crop", `${width}x${height}+${x}+${y}`, "+repage", file]);
  console.log(`screenshots: ${file}`);
}

try {
  await browser.$(tid("screen-queue")).waitForExist({ timeout: TIMEOUT });
  await browser.setWindowRect(0, 0, 1180, 760);

  // One upload that never gets an answer (it stays "uploading") and one paused.
  await invoke("queue_add_paths", { paths: [env("FERRY_SHOTS_STALL")], account: "studio", origin: "drop" });
  const [paused] = await invoke("queue_add_paths", {
    paths: [env("FERRY_SHOTS_PAUSE")],
    account: "studio",
    origin: "pick",
  });
  await invoke("queue_control", { action: "pause", id: paused });
  await browser.waitUntil(async () => (await browser.$$(tid("queue-row", '[data-status="paused"]')).length) === 1, {
    timeout: TIMEOUT,
  });
  // A paste of two lines: a URL (imported) and one that is not (reported inline).
  await browser.execute((text) => {
    const box = document.querySelector("[data-testid=paste-box]");
    box.value = text;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }, `${env("FERRY_SHOTS_PASTE_URL")}\nnot a link`);
  await browser.$(tid("paste-submit")).click();
  await browser.$(tid("paste-invalid")).waitForExist({ timeout: TIMEOUT });
  await browser.waitUntil(
    async () => (await invoke("queue_list", { page: { limit: 1000 } })).jobs.some((j) => j.name === "lighthouse.jpg" && j.status === "succeeded"),
    { timeout: TIMEOUT },
  );
  await shot("queue");

  await browser.$(tid("nav-library")).click();
  await browser.$(tid("library-row")).waitForExist({ timeout: TIMEOUT });
  // Thumbnails are made in the background: wait until every image row shows one.
  await browser.waitUntil(
    async () =>
      browser.execute(() =>
        [...document.querySelectorAll("[data-testid=library-row]")].every((row) => {
          // Every row here is an image: wait for its thumbnail, not the placeholder.
          const i = row.querySelector("img");
          return i && i.complete && i.naturalWidth > 0;
        }),
      ),
    { timeout: TIMEOUT },
  );
  await shot("library");

  await browser.$(tid("library-tab-remote")).click();
  await browser.$(tid("remote-account")).selectByAttribute("value", "library");
  await browser.$(tid("remote-row")).waitForExist({ timeout: TIMEOUT });
  await shot("library-remote");

  await browser.$(tid("nav-watch")).click();
  await browser.$(tid("watch-row")).waitForExist({ timeout: TIMEOUT });
  await browser.waitUntil(
    async () => (await browser.$(tid("watch-row")).getAttribute("data-state")) === "watching",
    { timeout: TIMEOUT },
  );
  await browser.$(tid("watch-options")).$("summary").click();
  await browser.$(tid("watch-after")).selectByAttribute("value", "move");
  await shot("watch");

  await browser.$(tid("nav-accounts")).click();
  await browser.$(tid("account-form")).waitForExist({ timeout: TIMEOUT });
  await browser.$(tid("account-kind")).selectByAttribute("value", "synposter");
  await browser.$(tid("account-name")).setValue("newsroom");
  await shot("accounts");

  await browser.$(tid("nav-settings")).click();
  await browser.$(tid("settings-form")).waitForExist({ timeout: TIMEOUT });
  await shot("settings");
} finally {
  await browser.deleteSession().catch(() => {});
}
