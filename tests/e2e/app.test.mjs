// End to end in the real app (run by tests/e2e/run, which starts ferry-fakes and
// tauri-driver): add a Synposter account through the form and find its key in the OS
// keychain, queue a file through the command the drop handler calls, paste a URL, see
// both uploaded, see them in the library with their URLs, copy one to the clipboard.
// Then launch the app a second time with a file: it hands the file to this instance.
// Elements are found by the data-testids agreed in docs/ipc.md ("Test ids").
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { remote } from "webdriverio";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run tests/e2e/run`);
  return v;
};
const endpoints = JSON.parse(readFileSync(env("FERRY_E2E_ENDPOINTS"), "utf8"));
const work = env("FERRY_E2E_WORK");
const home = env("FERRY_E2E_HOME");
const sample = new URL("../../docs/sample.png", import.meta.url).pathname;
const TIMEOUT = 60_000;

let browser;
let origin;
let originUrl;

/** `[data-testid=…]` plus optional attribute selectors. */
const tid = (id, extra = "") => `[data-testid="${id}"]${extra}`;

/** An element's text content (getText() only sees what WebKit considers displayed, and
 * long URLs are clipped with an ellipsis). */
const text = async (el) => String(await el.getProperty("textContent")).trim();

async function waitForCount(selector, n) {
  await browser.waitUntil(async () => (await browser.$$(selector).length) >= n, {
    timeout: TIMEOUT,
    timeoutMsg: `fewer than ${n} × ${selector}`,
  });
}

before(async () => {
  // "Somewhere on the web" for the pasted URL: a server on 127.0.0.1 only.
  const png = readFileSync(sample);
  origin = createServer((req, res) => {
    if (req.url === "/pasted-cat.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
      res.end(png);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));
  originUrl = `http://127.0.0.1:${origin.address().port}/pasted-cat.png`;

  browser = await remote({
    hostname: "127.0.0.1",
    port: Number(env("FERRY_E2E_PORT")),
    logLevel: "warn",
    connectionRetryTimeout: TIMEOUT,
    capabilities: {
      "tauri:options": { application: env("FERRY_E2E_APP") },
      "wdio:enforceWebDriverClassic": true,
    },
  });
  await browser.$(tid("screen-queue")).waitForExist({ timeout: TIMEOUT });
});

after(async () => {
  await browser?.deleteSession().catch(() => {});
  origin?.close();
});

test("a Synposter account added through the form keeps its key in the OS keychain", async () => {
  await browser.$(tid("nav-accounts")).click();
  await browser.$(tid("account-form")).waitForExist({ timeout: TIMEOUT });
  await browser.$(tid("account-kind")).selectByAttribute("value", "synposter");
  await browser.$(tid("account-name")).setValue("sp");
  const apiUrl = browser.$(tid("account-option-api_url"));
  await apiUrl.clearValue();
  await apiUrl.setValue(endpoints.synposter.api_url);
  await browser.$(tid("account-secret")).setValue(endpoints.synposter.api_key);
  await browser.$(tid("account-submit")).click();
  await browser.$(tid("account-row", '[data-account="sp"]')).waitForExist({ timeout: TIMEOUT });

  const stored = execFileSync("secret-tool", ["lookup", "service", "ferry", "username", "sp"], {
    encoding: "utf8",
  });
  assert.equal(stored.trim(), endpoints.synposter.api_key);
  const config = readFileSync(join(home, "config.toml"), "utf8");
  assert.ok(config.includes("[accounts.sp]"), config);
  assert.ok(!config.includes(endpoints.synposter.api_key), "the key is not in config.toml");
  assert.ok(
    !(await browser.getPageSource()).includes(endpoints.synposter.api_key),
    "the page no longer holds the key",
  );

  await browser.$(tid("account-row", '[data-account="sp"]')).$(tid("account-test")).click();
  await browser.waitUntil(
    async () => (await browser.$(tid("account-message")).getText().catch(() => "")) === "Connection works",
    { timeout: TIMEOUT, timeoutMsg: "the connection test did not pass" },
  );
});

test("a dropped file and a pasted URL both upload to Synposter", async () => {
  await browser.$(tid("nav-queue")).click();
  await browser.$(tid("destination-picker")).selectByAttribute("value", "sp");

  // OS drag and drop cannot be automated here: call what the drop handler calls.
  const file = join(work, "e2e-photo.png");
  copyFileSync(sample, file);
  const ids = await browser.execute(
    (paths) => window.__TAURI_INTERNALS__.invoke("queue_add_paths", { paths, account: "sp", origin: "drop" }),
    [file],
  );
  assert.equal(ids.length, 1);

  const box = browser.$(tid("paste-box"));
  await box.setValue(originUrl);
  await browser.$(tid("paste-submit")).click();

  await waitForCount(tid("queue-row", '[data-status="succeeded"]'), 2);
  const rows = await browser.$$(tid("queue-row"));
  assert.equal(rows.length, 2);
  for (const row of rows) {
    assert.equal(await row.getAttribute("data-phase"), "done");
    const url = await text(row.$(tid("job-url")));
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\//);
  }
  const names = [];
  for (const row of rows) names.push(await text(row.$(tid("job-name"))));
  assert.deepEqual(names.sort(), ["e2e-photo.png", "pasted-cat.png"]);
});

test("the library lists both with their URLs and copies a link to the clipboard", async () => {
  await browser.$(tid("nav-library")).click();
  await waitForCount(tid("library-row", '[data-account="sp"]'), 2);
  const rows = await browser.$$(tid("library-row", '[data-account="sp"]'));
  const urls = [];
  for (const row of rows) {
    assert.equal(await row.getAttribute("data-status"), "ready");
    urls.push(await text(row.$(tid("library-url"))));
  }
  for (const u of urls) assert.match(u, /^http:\/\/127\.0\.0\.1:\d+\//);
  const names = [];
  for (const row of rows) names.push(await text(row.$(tid("library-name"))));
  assert.deepEqual(names.sort(), ["e2e-photo.png", "pasted-cat.png"]);

  // When the batch is over (the queue quiet for 2 s) the app copies the links of what was
  // dropped and pasted, one per line (the setting is on in a fresh install).
  const clipboard = () => {
    try {
      return execFileSync("xclip", ["-o", "-selection", "clipboard"], { encoding: "utf8", timeout: 5000 });
    } catch {
      return ""; // nothing on the clipboard yet
    }
  };
  await browser.waitUntil(async () => clipboard().split("\n").sort().join("\n") === [...urls].sort().join("\n"), {
    timeout: TIMEOUT,
    timeoutMsg: `the batch's links were not copied (clipboard: ${JSON.stringify(clipboard())})`,
  });

  await browser.$(tid("library-copy-format")).selectByAttribute("value", "plain");
  await rows[0].$(tid("library-copy")).click();
  await browser.waitUntil(
    // The live region is visually hidden: read its text, not what is displayed.
    async () => (await text(browser.$(tid("live-region")))).startsWith("Copied"),
    { timeout: TIMEOUT, timeoutMsg: "no copy announcement" },
  );
  const clip = execFileSync("xclip", ["-o", "-selection", "clipboard"], { encoding: "utf8" });
  assert.equal(clip, urls[0]);
});

test("launching the app again with a file queues it in the running instance", async () => {
  const file = join(work, "second-launch.png");
  copyFileSync(sample, file);
  // Same FERRY_HOME and D-Bus session as the running app: the single-instance plugin
  // hands the arguments over and this process exits at once.
  const second = spawnSync(env("FERRY_E2E_APP"), [file], {
    env: { ...process.env, FERRY_HOME: home },
    timeout: TIMEOUT,
    encoding: "utf8",
  });
  assert.equal(second.status, 0, second.stderr);
  await browser.$(tid("nav-queue")).click();
  await browser.waitUntil(
    async () => {
      for (const row of await browser.$$(tid("queue-row", '[data-status="succeeded"]'))) {
        if ((await text(row.$(tid("job-name")))) === "second-launch.png") return true;
      }
      return false;
    },
    { timeout: TIMEOUT, timeoutMsg: "the second launch's file was not queued and uploaded" },
  );
});
