// End to end in the real app (run by tests/e2e/run, which starts ferry-fakes and
// tauri-driver): add a Synposter account through the form and find its key in the OS
// keychain, queue a file through the command the drop handler calls, paste a URL, see
// both uploaded, see them in the library with their URLs, copy one to the clipboard.
// Then launch the app a second time with a file: it hands the file to this instance.
// Last, the desktop around it (desktop-session.py stands in for the notification server,
// the tray host and the window manager Xvfb lacks): pause and resume all from the tray
// menu, close to the tray, a batched notification for uploads finished meanwhile, open
// again and quit from the tray; then, on a desktop without a tray host, closing quits.
// Elements are found by the data-testids agreed in docs/ipc.md ("Test ids").
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
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
let slowUrl;
// The slow download holds back its second half until the test lets it go.
let releaseSlow;
const slowGate = new Promise((resolve) => (releaseSlow = resolve));

/** `[data-testid=…]` plus optional attribute selectors. */
const tid = (id, extra = "") => `[data-testid="${id}"]${extra}`;

/** An element's text content (getText() only sees what WebKit considers displayed, and
 * long URLs are clipped with an ellipsis). */
const text = async (el) => String(await el.getProperty("textContent")).trim();

/** The X clipboard's text ("" while it holds none). */
function clipboard() {
  try {
    return execFileSync("xclip", ["-o", "-selection", "clipboard"], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"], // "target STRING not available" until then
    });
  } catch {
    return ""; // nothing on the clipboard yet
  }
}

/** Poll CHECK until it holds; fails with WHAT after TIMEOUT. Needs no WebDriver session
 * (the app may have quit). */
async function until(what, check) {
  const deadline = Date.now() + TIMEOUT;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(what);
    await new Promise((r) => setTimeout(r, 200));
  }
}

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
    } else if (req.url === "/slow-cat.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
      res.write(png.subarray(0, 1024));
      slowGate.then(() => res.end(png.subarray(1024)));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));
  originUrl = `http://127.0.0.1:${origin.address().port}/pasted-cat.png`;
  slowUrl = `http://127.0.0.1:${origin.address().port}/slow-cat.png`;

  await launch();
});

/** A WebDriver session: tauri-driver starts the app for it. */
async function launch() {
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
}

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

test("a destination's after-batch actions put a QR code image on the clipboard and open the link", async () => {
  const dir = join(work, "qr-library");
  await invoke("account_add", { name: "qr", kind: "local", options: { dir, after_batch: "open,qr" }, secret: null });
  const file = join(work, "qr-photo.png");
  copyFileSync(sample, file);
  await invoke("queue_add_paths", { paths: [file], account: "qr", origin: "drop" });
  const targets = () => {
    try {
      return execFileSync("xclip", ["-o", "-selection", "clipboard", "-t", "TARGETS"], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      return "";
    }
  };
  await until("the batch's QR code image was not copied", () => targets().split("\n").includes("image/png"));
  const png = execFileSync("xclip", ["-o", "-selection", "clipboard", "-t", "image/png"], { timeout: 5000 });
  assert.equal(png.subarray(1, 4).toString(), "PNG");
  const opened = join(work, "opened.log");
  await until("the batch's link was not opened", () => existsSync(opened) && readFileSync(opened, "utf8").includes("file://"));
  const link = readFileSync(opened, "utf8").trim().split("\n").pop();
  assert.match(link, /^file:\/\/.*qr-library\/.*qr-photo\.png$/);
});

test("launching the app again with a file queues it in the running instance", async () => {
  const file = join(work, "second-launch.png");
  copyFileSync(sample, file);
  // Same FERRY_HOME as the running app: it holds the home's app lock, so this launch
  // leaves its arguments in FERRY_HOME/handoff and exits once the app has taken them.
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

// ---- the desktop around the window (tests/e2e/desktop-session.py) ----

const desktop = (...args) =>
  execFileSync(env("FERRY_E2E_DESKTOP"), args, { encoding: "utf8", timeout: 10_000 }).trim();
const desktopLog = () =>
  readFileSync(env("FERRY_E2E_DESKTOP_LOG"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const tray = (label) => desktop("click", env("FERRY_E2E_DESKTOP_LOG"), label);
const invoke = (cmd, args) =>
  browser.execute((cmd, args) => window.__TAURI_INTERNALS__.invoke(cmd, args), cmd, args);
const jobStatus = async (id) => (await invoke("queue_list", { page: { limit: 1000 } })).jobs.find((j) => j.id === id)?.status;

/** The running app's pid (the one with this test's FERRY_HOME), or null. */
function appPid() {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "ferry-app") continue;
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`FERRY_HOME=${home}`)) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

test("the tray menu pauses, resumes, reopens and quits; closing keeps it in the tray; one notification per batch", async () => {
  // A tray host is on the bus (the stand-in), so the app reports its icon as showing.
  assert.equal((await invoke("app_info", {})).tray, true);
  assert.deepEqual(JSON.parse(desktop("menu", env("FERRY_E2E_DESKTOP_LOG"))), [
    "Open Ferry",
    "Pause all",
    "Resume all",
    "Slow down",
    "Full speed",
    "Quit Ferry",
  ]);

  // Slow down / Full speed: saved at once, and the queue header follows (it polls app_info).
  tray("Slow down");
  await until("Slow down from the tray did not slow down", async () => (await invoke("app_info", {})).bandwidth.slowed);
  assert.equal((await invoke("settings_get", {})).slowDown, true);
  await browser.$(tid("nav-queue")).click();
  await browser.waitUntil(async () => (await browser.$(tid("bandwidth")).getText()).includes("at most 1 MiB/s (slowed down)"), {
    timeout: TIMEOUT, timeoutMsg: "the queue header did not show the slowed-down limit",
  });
  tray("Full speed");
  await until("Full speed from the tray did not lift the slow-down", async () => !(await invoke("app_info", {})).bandwidth.slowed);

  // Pause all / Resume all on a download that is under way.
  await browser.$(tid("nav-queue")).click();
  await browser.$(tid("paste-box")).setValue(slowUrl);
  await browser.$(tid("paste-submit")).click();
  const slowId = await browser.waitUntil(
    async () => (await invoke("queue_list", { page: { limit: 1000 } })).jobs.find((j) => j.input === slowUrl)?.id,
    { timeout: TIMEOUT, timeoutMsg: "the pasted slow URL was not queued" },
  );
  await until("the slow download did not start", async () =>
    ["preparing", "uploading"].includes(await jobStatus(slowId)),
  );
  tray("Pause all");
  await until("Pause all from the tray did not pause the running job", async () => (await jobStatus(slowId)) === "paused");
  releaseSlow();
  tray("Resume all");
  await until("Resume all from the tray did not send the job", async () => (await jobStatus(slowId)) === "succeeded");
  // Its batch ends (links copied) before the window goes, so the next batch is its own.
  const slowLink = (await invoke("queue_list", { page: { limit: 1000 } })).jobs.find((j) => j.id === slowId).media[0].url;
  await until("the slow job's batch did not end", () => clipboard().split("\n").includes(slowLink));
  // The window was in front: no notification for that batch.
  assert.deepEqual(desktopLog().filter((e) => e.kind === "notification"), []);

  // Close to the tray: the setting, and a watch rule that is active (else closing quits).
  await browser.$(tid("nav-settings")).click();
  const box = browser.$(tid("settings-close-to-tray"));
  if (!(await box.isSelected())) await box.click();
  await browser.$(tid("settings-save")).click();
  await browser.$(tid("settings-saved")).waitForExist({ timeout: TIMEOUT });
  const watched = join(work, "watched");
  mkdirSync(watched);
  // The folder dialog cannot be automated: call what the Watch screen calls after it.
  await invoke("watch_add", { dir: watched, account: "library" });

  assert.equal(desktop("window", "Ferry"), "viewable");
  desktop("close", "Ferry");
  await until("closing the window did not hide it to the tray", async () => desktop("window", "Ferry") === "hidden");
  assert.ok(appPid(), "the app quit instead of staying in the tray");

  // Files that arrive while the window is away are announced once, as a batch.
  for (const name of ["tray-1.png", "tray-2.png"]) {
    const bytes = Buffer.concat([readFileSync(sample), Buffer.from(name)]);
    writeFileSync(join(watched, name), bytes);
  }
  await until("no notification for the watch folder's batch", async () =>
    desktopLog().some((e) => e.kind === "notification"),
  );
  await new Promise((r) => setTimeout(r, 3000)); // a second notification would come by now
  const notes = desktopLog().filter((e) => e.kind === "notification");
  assert.equal(notes.length, 1, JSON.stringify(notes));
  assert.equal(notes[0].summary, "Ferry");
  assert.equal(notes[0].body, "2 uploaded");
  // The app's identity as the installed desktop entry gives it (Icon=ferry-app,
  // StartupWMClass=ferry-app): what the notification server shows it under.
  assert.equal(notes[0].app, "ferry-app", JSON.stringify(notes[0]));
  assert.equal(notes[0].icon, "ferry-app", JSON.stringify(notes[0]));

  tray("Open Ferry");
  await until("Open Ferry did not bring the window back", async () => desktop("window", "Ferry") === "viewable");

  tray("Quit Ferry");
  await until("Quit Ferry did not end the app", async () => appPid() === null);
});

test("with no tray host, closing the window quits even with close-to-tray on", async () => {
  // The stand-in gives up the StatusNotifierWatcher name: a desktop that shows no tray
  // icons (stock GNOME). Hiding the window there would leave nothing on screen.
  process.kill(Number(env("FERRY_E2E_DESKTOP_PID")), "SIGUSR1");
  await until("the stand-in kept its tray host", () => desktopLog().some((e) => e.kind === "no-tray-host"));
  await browser.deleteSession().catch(() => {}); // the previous app quit from the tray
  await launch();
  assert.equal((await invoke("app_info", {})).tray, false);
  assert.equal((await invoke("settings_get", {})).closeToTray, true);
  assert.ok((await invoke("watch_list", {})).some((r) => !r.paused), "a watch rule is active");
  await browser.$(tid("nav-settings")).click();
  await browser.$(tid("settings-no-tray")).waitForExist({ timeout: TIMEOUT });

  assert.ok(appPid(), "the app runs");
  desktop("close", "Ferry");
  await until("closing the window did not quit the app", () => appPid() === null);
});
