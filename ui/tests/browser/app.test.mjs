// The built UI in headless Chromium against a mocked Rust side (see harness.mjs).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { callsOf, launch, openApp, screenshot, startServer } from "./harness.mjs";

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {import("playwright-core").Browser} */
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function poll(fn, what, ms = 5000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

describe("queue", () => {
  test("offline holds the queue with its reason in the header and on the job, until the network is back", async () => {
    const { page, context } = await openApp(browser, server.url);
    assert.equal(await page.getByTestId("runner-hold").count(), 0);
    await page.evaluate(() => {
      const since = new Date().toISOString();
      window.__ferryMock.send({ type: "holdChanged", hold: { reason: "offline", message: "Offline — waiting for the network", since } });
      const j = window.__ferryMock.job(4);
      window.__ferryMock.send({ type: "jobChanged", job: { ...j, status: "waiting_retry", attempts: 0,
        error: { code: "network.offline", message: "Offline — waiting for the network: could not connect to the server" } } });
    });
    const hold = page.getByTestId("runner-hold");
    await hold.waitFor();
    assert.equal(await hold.textContent(), "Offline — waiting for the network");
    assert.equal(await hold.getAttribute("data-reason"), "offline");
    const row = page.locator('[data-testid="queue-row"][data-job-id="4"]');
    await poll(async () => (await row.getAttribute("data-phase")) === "offline", "offline row");
    assert.match(await row.getByTestId("job-offline").textContent(), /waits for the network/);
    await poll(async () => /Offline — waiting for the network/.test(await page.getByTestId("live-region").textContent()), "announcement");
    await page.evaluate(() => window.__ferryMock.send({ type: "holdChanged", hold: null }));
    await poll(async () => (await page.getByTestId("runner-hold").count()) === 0, "the hold ends");
    await context.close();
  });

  test("dropping files shows the overlay naming the destination and queues the dropped paths", async () => {
    const { page, context, errors } = await openApp(browser, server.url);
    await page.getByTestId("destination-picker").selectOption("blog");
    await page.evaluate(() => window.__ferryMock.emit("tauri://drag-enter", { paths: ["/home/ada/a.jpg"], position: { x: 10, y: 10 } }));
    const overlay = page.getByTestId("drop-overlay");
    await overlay.waitFor();
    assert.equal(await page.getByTestId("drop-destination").textContent(), "blog");
    await screenshot(page, "queue-drop-overlay");
    await page.evaluate(() => window.__ferryMock.emit("tauri://drag-drop", { paths: ["/home/ada/a.jpg", "/home/ada/Trip"], position: { x: 10, y: 10 } }));
    await overlay.waitFor({ state: "detached" });
    const calls = await poll(async () => (await callsOf(page, "queue_add_paths")).length && callsOf(page, "queue_add_paths"), "queue_add_paths");
    assert.deepEqual(calls, [{ paths: ["/home/ada/a.jpg", "/home/ada/Trip"], account: "blog", origin: "drop" }]);
    await page.locator('[data-testid="queue-row"]', { hasText: "a.jpg" }).waitFor();
    await page.locator('[data-testid="queue-row"]', { hasText: "Trip" }).waitFor();
    assert.match(await page.getByTestId("live-region").textContent(), /Queued 2 files for blog/);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a drop goes to every ticked destination too: the overlay names them and the engine gets them", async () => {
    const { page, context, errors } = await openApp(browser, server.url);
    await page.getByTestId("destination-picker").selectOption("blog");
    await page.getByTestId("also-to").locator("summary").click();
    await page.getByTestId("also-to-library").check();
    assert.match(await page.getByTestId("also-to").locator("summary").textContent(), /Also send to \(1\)/);
    await screenshot(page, "queue-also-to");
    await page.evaluate(() => window.__ferryMock.emit("tauri://drag-enter", { paths: ["/home/ada/a.jpg"], position: { x: 10, y: 10 } }));
    assert.equal(await page.getByTestId("drop-destination").textContent(), "blog and library");
    await page.evaluate(() => window.__ferryMock.emit("tauri://drag-drop", { paths: ["/home/ada/a.jpg", "/home/ada/b.jpg"], position: { x: 10, y: 10 } }));
    const calls = await poll(async () => (await callsOf(page, "queue_add_paths")).length && callsOf(page, "queue_add_paths"), "queue_add_paths");
    assert.deepEqual(calls, [{ paths: ["/home/ada/a.jpg", "/home/ada/b.jpg"], account: "blog", origin: "drop", also: ["library"] }]);
    await poll(async () => /Queued 4 jobs for blog and library/.test(await page.getByTestId("live-region").textContent()), "the announcement");
    // Unticked: the next addition goes to the picked destination alone.
    await page.getByTestId("also-to-library").uncheck();
    await page.getByTestId("paste-box").fill("https://example.com/x.jpg");
    await page.getByTestId("paste-submit").click();
    const pastes = await poll(async () => (await callsOf(page, "queue_add_urls")).length && callsOf(page, "queue_add_urls"), "queue_add_urls");
    assert.deepEqual(pastes, [{ text: "https://example.com/x.jpg", account: "blog" }]);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("leaving the window without dropping hides the overlay and queues nothing", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.evaluate(() => window.__ferryMock.emit("tauri://drag-over", { position: { x: 1, y: 1 } }));
    await page.getByTestId("drop-overlay").waitFor();
    await page.evaluate(() => window.__ferryMock.emit("tauri://drag-leave", null));
    await page.getByTestId("drop-overlay").waitFor({ state: "detached" });
    assert.deepEqual(await callsOf(page, "queue_add_paths"), []);
    await context.close();
  });

  test("a dropped path the engine refuses is reported with its code", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.evaluate(() => window.__ferryMock.emit("tauri://drag-drop", { paths: ["/tmp/missing.jpg"], position: { x: 1, y: 1 } }));
    const err = page.getByTestId("drop-error");
    await err.waitFor();
    assert.match(await err.textContent(), /does not exist \(input\.not_found\)/);
    await context.close();
  });

  test("picking files with the dialog queues them with origin pick", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("pick-files").click();
    await poll(async () => (await callsOf(page, "queue_add_paths")).length, "queue_add_paths");
    assert.deepEqual(await callsOf(page, "queue_add_paths"), [
      { paths: ["/home/ada/Pictures/picked-1.jpg", "/home/ada/Pictures/picked-2.jpg"], account: "library", origin: "pick" },
    ]);
    await context.close();
  });

  test("pasted URLs are queued and invalid lines are reported inline", async () => {
    const { page, context } = await openApp(browser, server.url);
    const text = "https://example.test/cat.jpg\n\nftp://old.example.test/a.png\nhttps://example.test/dog.mp4";
    await page.getByTestId("paste-box").fill(text);
    await page.getByTestId("paste-submit").click();
    const invalid = page.getByTestId("paste-invalid");
    await invalid.waitFor();
    assert.deepEqual(await callsOf(page, "queue_add_urls"), [{ text, account: "library" }]);
    const items = await invalid.locator("li").allTextContents();
    assert.equal(items.length, 1);
    assert.match(items[0], /line 3: ftp:\/\/old\.example\.test\/a\.png — not an http\(s\) URL/);
    await page.locator('[data-testid="queue-row"]', { hasText: "cat.jpg" }).waitFor();
    await page.locator('[data-testid="queue-row"]', { hasText: "dog.mp4" }).waitFor();
    // The box keeps the text so the bad line can be fixed.
    assert.equal(await page.getByTestId("paste-box").inputValue(), text);
    await screenshot(page, "queue-paste-invalid");
    await context.close();
  });

  test("Ctrl+V outside any field queues pasted URLs", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.setData("text/plain", "https://example.test/from-clipboard.jpg");
      document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
    });
    await poll(async () => (await callsOf(page, "queue_add_urls")).length, "queue_add_urls");
    assert.deepEqual(await callsOf(page, "queue_add_urls"), [{ text: "https://example.test/from-clipboard.jpg", account: "library" }]);
    await context.close();
  });

  test("a pasted image is handed to Rust, and copied files are queued as paths", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array([137, 80, 78, 71])], "image.png", { type: "image/png" }));
      document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
      const files = new DataTransfer();
      files.setData("text/uri-list", "file:///home/ada/My%20Docs/report.pdf");
      document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: files, bubbles: true }));
    });
    await poll(async () => (await callsOf(page, "queue_paste_image")).length, "queue_paste_image");
    assert.deepEqual(await callsOf(page, "queue_paste_image"), [{ account: "library" }]);
    // Copied files are shown first and queued once the person says so.
    await page.getByTestId("paste-confirm").waitFor();
    await page.getByTestId("paste-confirm-queue").click();
    await poll(async () => (await callsOf(page, "queue_add_paths")).length, "queue_add_paths");
    assert.deepEqual(await callsOf(page, "queue_add_paths"), [{ paths: ["/home/ada/My Docs/report.pdf"], account: "library", origin: "pick" }]);
    await context.close();
  });

  test("pasted file paths are listed and asked about once; Cancel queues nothing", async () => {
    const { page, context, errors } = await openApp(browser, server.url);
    const pastePaths = (text) =>
      page.evaluate((t) => {
        const data = new DataTransfer();
        data.setData("text/uri-list", t);
        document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
      }, text);
    await pastePaths("file:///home/ada/a.jpg\nfile:///home/ada/b.jpg");
    const panel = page.getByTestId("paste-confirm");
    await panel.waitFor();
    assert.deepEqual(await page.getByTestId("paste-confirm-path").allTextContents(), ["/home/ada/a.jpg", "/home/ada/b.jpg"]);
    assert.match(await panel.textContent(), /Queue 2 pasted files for library\?/);
    await screenshot(page, "queue-paste-confirm");
    await page.getByTestId("paste-confirm-cancel").click();
    await panel.waitFor({ state: "detached" });
    assert.deepEqual(await callsOf(page, "queue_add_paths"), []);
    // Escape cancels too; Queue (focused, so Enter works) queues exactly what was listed.
    await pastePaths("/home/ada/c.jpg");
    await panel.waitFor();
    await page.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
    await pastePaths("/home/ada/d.jpg");
    await panel.waitFor();
    await page.keyboard.press("Enter");
    await panel.waitFor({ state: "detached" });
    await poll(async () => (await callsOf(page, "queue_add_paths")).length, "queue_add_paths");
    assert.deepEqual(await callsOf(page, "queue_add_paths"), [{ paths: ["/home/ada/d.jpg"], account: "library", origin: "pick" }]);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("progress over the Channel moves the bar and shows speed and ETA, then done is announced", async () => {
    const { page, context } = await openApp(browser, server.url);
    const row = page.locator('[data-testid="queue-row"][data-job-id="3"]');
    await row.waitFor();
    const before = Number(await row.getByTestId("job-progress").getAttribute("data-value"));
    await page.evaluate(() => window.__ferryMock.send({ type: "jobProgress", id: 3, phase: "uploading", bytesSent: 3_750_000, bytesTotal: 5_000_000, speed: 2_500_000, etaSecs: 1.5 }));
    await poll(async () => Number(await row.getByTestId("job-progress").getAttribute("data-value")) === 75, "bar at 75%");
    assert.ok(before < 75);
    assert.equal(await row.getByTestId("job-speed").textContent(), "2.5 MB/s");
    assert.equal(await row.getByTestId("job-eta").textContent(), "2s left");
    assert.equal(await row.getAttribute("data-phase"), "uploading");
    await screenshot(page, "queue-progress");
    await page.evaluate(() => window.__ferryMock.send({ type: "jobProgress", id: 3, phase: "processing", bytesSent: 5_000_000, bytesTotal: 5_000_000, speed: 0, etaSecs: null }));
    await poll(async () => (await row.getAttribute("data-phase")) === "processing", "processing phase");
    await page.evaluate(() => {
      const j = window.__ferryMock.job(3);
      window.__ferryMock.send({ type: "jobSucceeded", job: { ...j, status: "succeeded", bytesSent: 5_000_000, media: [{ id: "x", name: j.name, url: "https://cdn.example.test/team-offsite.png", mime_type: "image/png", size: 5_000_000, status: "ready", expires_at: null }] } });
    });
    await poll(async () => (await row.getAttribute("data-status")) === "succeeded", "succeeded");
    assert.equal(await row.getByTestId("job-phase").textContent(), "done");
    assert.equal(await row.getByTestId("job-url").textContent(), "https://cdn.example.test/team-offsite.png");
    await poll(async () => /Uploaded team-offsite\.png/.test(await page.getByTestId("live-region").textContent()), "announcement");
    await context.close();
  });

  test("a failure shows its plain words and code, is announced, and can be retried", async () => {
    const { page, context } = await openApp(browser, server.url);
    const seeded = page.locator('[data-testid="queue-row"][data-job-id="2"]');
    assert.equal(await seeded.getByTestId("job-error-code").textContent(), "provider.rate_limited");
    assert.match(await seeded.getByTestId("job-error").textContent(), /FastPix is limiting requests/);
    // Remote text is text: the name's markup is shown literally, never parsed.
    assert.equal(await seeded.getByTestId("job-name").textContent(), "interview-cut-<b>2</b>.mp4");
    assert.equal(await seeded.locator("b").count(), 0);
    await page.evaluate(() => {
      const j = window.__ferryMock.job(4);
      window.__ferryMock.send({ type: "jobFailed", job: { ...j, status: "failed", error: null }, code: "limit.too_large", message: "podcast-ep12.mp3 is 48 MB; this destination takes at most 25 MB", retryable: false });
    });
    const row = page.locator('[data-testid="queue-row"][data-job-id="4"]');
    await poll(async () => (await row.getAttribute("data-status")) === "failed", "failed");
    assert.equal(await row.getByTestId("job-error-code").textContent(), "limit.too_large");
    await poll(async () => /Failed: podcast-ep12\.mp3 — .*\(limit\.too_large\)/.test(await page.getByTestId("live-region").textContent()), "announcement");
    await row.getByTestId("job-retry-button").click();
    await poll(async () => (await callsOf(page, "queue_control")).length, "queue_control");
    assert.deepEqual(await callsOf(page, "queue_control"), [{ action: "retry", id: 4 }]);
    await page.getByTestId("pause-all").click();
    await poll(async () => (await callsOf(page, "queue_control")).length === 2, "pause all");
    assert.deepEqual((await callsOf(page, "queue_control"))[1], { action: "pause", id: null });
    await screenshot(page, "queue");
    await context.close();
  });

  test("a queued job moves to the top, and small files first is switched from the queue header", async () => {
    const { page, context } = await openApp(browser, server.url);
    const queued = page.locator('[data-testid="queue-row"][data-job-id="4"]');
    await queued.getByTestId("job-top").click();
    await poll(async () => (await callsOf(page, "queue_move_to_top")).length, "queue_move_to_top");
    assert.deepEqual(await callsOf(page, "queue_move_to_top"), [{ ids: [4] }]);
    // Running and finished jobs have no such button.
    assert.equal(await page.locator('[data-testid="queue-row"][data-job-id="3"]').getByTestId("job-top").count(), 0);
    assert.equal(await page.locator('[data-testid="queue-row"][data-job-id="1"]').getByTestId("job-top").count(), 0);
    // The engine says a job moved: the row says so.
    await page.evaluate(() => {
      const j = window.__ferryMock.job(4);
      window.__ferryMock.send({ type: "jobChanged", job: { ...j, priority: 1 } });
    });
    await poll(async () => (await queued.getByTestId("job-moved").count()) === 1, "moved badge");
    const toggle = page.getByTestId("small-first");
    assert.equal(await toggle.isChecked(), false);
    await toggle.check();
    await poll(async () => (await callsOf(page, "queue_order_set")).length, "queue_order_set");
    assert.deepEqual(await callsOf(page, "queue_order_set"), [{ order: "small-first" }]);
    assert.equal(await toggle.isChecked(), true);
    await context.close();
  });

  test("1,000 jobs render as a short window of rows and scroll", async () => {
    const { page, context } = await openApp(browser, server.url, { scenario: { manyJobs: 1000 } });
    await page.getByTestId("queue-list").waitFor();
    const rendered = await page.getByTestId("queue-row").count();
    assert.ok(rendered > 3 && rendered < 60, `rendered ${rendered} rows`);
    assert.match(await page.getByTestId("total").textContent(), /1004 jobs/);
    // The first page only: the rest comes as the list scrolls towards its end.
    assert.deepEqual(await callsOf(page, "queue_list"), [{ page: { limit: 200 } }]);
    const scrollToEnd = () => page.getByTestId("queue-list").evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event("scroll")); });
    for (let i = 0; i < 10 && (await page.locator('[data-testid="queue-row"][data-job-id="1000"]').count()) === 0; i++) {
      await scrollToEnd();
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.locator('[data-testid="queue-row"][data-job-id="1000"]').waitFor();
    const pages = (await callsOf(page, "queue_list")).filter((c) => c.page?.cursor);
    assert.ok(pages.length >= 4, `pages loaded on scroll: ${JSON.stringify(pages)}`);
    assert.ok(pages.every((c) => c.page.limit === 200));
    await page.getByTestId("queue-more").waitFor({ state: "detached" });
    // A job added now still appears on top.
    await page.evaluate(() => window.__ferryMock.send({ type: "jobAdded", job: { ...window.__ferryMock.job(1000), id: 99999, name: "fresh.jpg", status: "queued" } }));
    await page.getByTestId("queue-list").evaluate((el) => { el.scrollTop = 0; el.dispatchEvent(new Event("scroll")); });
    await page.locator('[data-testid="queue-row"][data-job-id="99999"]').waitFor();
    await context.close();
  });
});

describe("big library", () => {
  test("the library loads pages of 100 as it scrolls, and the count is the engine's total", async () => {
    const { page, context } = await openApp(browser, server.url, { scenario: { manyItems: 450 } });
    await page.getByTestId("nav-library").click();
    const rows = page.getByTestId("library-row");
    await rows.first().waitFor();
    assert.equal(await page.getByTestId("library-count").textContent(), "454 items");
    assert.equal(await rows.count(), 100);
    await page.getByTestId("library-more").scrollIntoViewIfNeeded();
    await poll(async () => (await rows.count()) >= 200, "a second page on scroll");
    const before = (await callsOf(page, "library_list")).filter((c) => c.filter.before != null);
    assert.ok(before.length >= 1 && before.every((c) => c.filter.limit === 100), JSON.stringify(before));
    // Keyboard: the button loads the next page too.
    await page.getByTestId("library-more").focus();
    await page.keyboard.press("Enter");
    await poll(async () => (await rows.count()) >= 300, "a page from the button");
    // A search is the engine's: a fresh first page with the search in the filter.
    await page.getByTestId("library-search").fill("bulk-item-44");
    await poll(async () => (await rows.count()) === 11, "search");
    assert.equal(await page.getByTestId("library-count").textContent(), "11 items");
    const last = (await callsOf(page, "library_list")).at(-1);
    assert.deepEqual(last.filter, { limit: 100, search: "bulk-item-44" });
    await context.close();
  });
});

describe("library", () => {
  test("lists newest first and filters by destination, status and search; copies a link", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-library").click();
    const rows = page.getByTestId("library-row");
    await rows.first().waitFor();
    assert.deepEqual(await rows.getByTestId("library-name").allTextContents(), ["harbour-sunrise.jpg", "launch-teaser.mp4", "poster-final.png", "team-photo.jpg"]);
    assert.equal(await page.locator('[data-item-id="3"] [data-testid="library-status"]').textContent(), "expires in 6 days");
    assert.equal(await page.locator('[data-item-id="2"] [data-testid="library-status"]').textContent(), "processing");
    // Thumbnails for images come through convertFileSrc.
    assert.match(await page.locator('[data-item-id="1"] img').getAttribute("src"), /\/__thumb\/sunrise\.png$/);
    await screenshot(page, "library");

    await page.getByTestId("library-filter-account").selectOption("video");
    await poll(async () => (await rows.count()) === 1, "account filter");
    assert.equal(await rows.getByTestId("library-name").textContent(), "launch-teaser.mp4");
    await page.getByTestId("library-filter-account").selectOption("");
    await page.getByTestId("library-filter-status").selectOption("ready");
    await poll(async () => (await rows.count()) === 3, "status filter");
    await page.getByTestId("library-search").fill("FINAL");
    await poll(async () => (await rows.count()) === 1, "search");
    assert.equal(await rows.getByTestId("library-url").textContent(), "https://media.example.test/poster-final.png");
    await page.getByTestId("library-search").fill("nothing-like-this");
    await page.getByTestId("library-empty").waitFor();

    await page.getByTestId("library-search").fill("");
    await page.getByTestId("library-filter-status").selectOption("");
    await page.getByTestId("library-copy-format").selectOption("markdown");
    await page.locator('[data-item-id="1"] [data-testid="library-copy"]').click();
    await poll(async () => (await callsOf(page, "library_copy")).length, "library_copy");
    assert.deepEqual(await callsOf(page, "library_copy"), [{ id: 1, format: "markdown" }]);
    // Delete only where the provider supports it (local and FastPix here, not Synposter).
    assert.equal(await page.locator('[data-item-id="4"] [data-testid="library-delete"]').count(), 0);
    await page.locator('[data-item-id="2"] [data-testid="library-delete"]').click();
    await page.locator('[data-item-id="2"] [data-testid="library-delete"]').click();
    await poll(async () => (await callsOf(page, "library_delete")).length, "library_delete");
    await context.close();
  });

  test("the remote tab lists an account's own library", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-library").click();
    await page.getByTestId("library-tab-remote").click();
    await page.getByTestId("remote-account").selectOption("video");
    await page.getByTestId("remote-row").first().waitFor();
    assert.deepEqual(await callsOf(page, "library_remote"), [{ account: "video" }]);
    await screenshot(page, "library-remote");
    await context.close();
  });
});

describe("accounts", () => {
  test("the form is generated from the option table and the secret goes to account_add, never shown", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-accounts").click();
    await page.getByTestId("account-kind").selectOption("synposter");
    assert.equal(await page.getByTestId("account-option-base_url").getAttribute("placeholder"), "https://api.synposter.com");
    assert.equal(await page.getByTestId("account-option-workspace").getAttribute("required"), "");
    assert.equal(await page.getByTestId("account-secret").getAttribute("type"), "password");
    assert.equal(await page.getByTestId("account-option-api_key").count(), 0);
    await page.getByTestId("account-name").fill("press");
    await page.getByTestId("account-option-workspace").fill("ws_9");
    await page.getByTestId("account-secret").fill("sk-live-TOPSECRET");
    await screenshot(page, "accounts-form");
    await page.getByTestId("account-submit").click();
    await page.locator('[data-testid="account-row"][data-account="press"]').waitFor();
    assert.deepEqual(await callsOf(page, "account_add"), [{ name: "press", kind: "synposter", options: { workspace: "ws_9" }, secret: "sk-live-TOPSECRET" }]);
    const html = await page.content();
    assert.ok(!html.includes("TOPSECRET"), "the secret is not in the page after saving");
    assert.match(await page.locator('[data-account="press"]').textContent(), /key in the OS keychain/);
    // The new account is a destination.
    assert.ok((await page.getByTestId("destination-picker").locator("option").allTextContents()).some((t) => t.startsWith("press")));
    await context.close();
  });

  test("the name template shows a live preview of a sample file, and why a bad one is refused", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-accounts").click();
    await page.getByTestId("account-kind").selectOption("local");
    await page.getByTestId("account-name").fill("pics");
    const field = page.getByTestId("account-option-name_template");
    await field.fill("{account}/{yyyy}/{name}");
    const preview = page.getByTestId("account-name-preview");
    await poll(async () => (await preview.count()) === 1 && /pics\/2026\/IMG_2041\.jpg/.test(await preview.textContent()), "preview");
    await field.fill("{account}/{album}/{name}");
    const error = page.getByTestId("account-name-preview-error");
    await poll(async () => (await error.count()) === 1, "preview error");
    assert.match(await error.textContent(), /`\{album\}`, which is not a token \(config\.invalid\)/);
    assert.equal(await preview.count(), 0);
    const asked = await callsOf(page, "account_name_preview");
    assert.deepEqual(asked.at(-1), { kind: "local", template: "{account}/{album}/{name}", account: "pics" });
    await field.fill("");
    await poll(async () => (await error.count()) === 0, "blank: nothing shown");
    await context.close();
  });

  test("test connection reports the provider's error with its code; set default and remove", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-accounts").click();
    const video = page.locator('[data-testid="account-row"][data-account="video"]');
    await video.getByTestId("account-test").click();
    await poll(async () => /FastPix refused the access token \(401\) \(auth\.invalid\)/.test(await video.getByTestId("account-message").textContent()), "test error");
    await screenshot(page, "accounts");
    await video.getByTestId("account-default").click();
    await poll(async () => (await callsOf(page, "account_set_default")).length, "set default");
    await page.locator('[data-account="blog"]').getByTestId("account-remove").click();
    await page.locator('[data-account="blog"]').waitFor({ state: "detached" });
    await context.close();
  });
});

describe("files opened with Ferry", () => {
  test("each note of opened files is said once, naming what was queued or why not, with the queue shown", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-library").click();
    await page.evaluate(() => window.__ferryMock.open({ account: "library", jobs: [7, 8], given: 2, names: ["a.jpg", "b.mp4"], skipped: [], error: null }));
    const banner = page.getByTestId("opened-banner");
    await banner.waitFor();
    assert.match(await banner.textContent(), /Opened with Ferry: queued 2 files for library \(a\.jpg, b\.mp4\)/);
    assert.equal(await page.getByTestId("screen-queue").count(), 1, "the queue is shown");
    await page.evaluate(() => window.__ferryMock.open({ account: "library", jobs: [], given: 0, names: [], skipped: ["sftp://h/x.jpg: not a local file"], error: null }));
    await poll(async () => /Nothing opened with Ferry/.test((await banner.textContent()) ?? ""), "the second note");
    assert.equal(await banner.getAttribute("role"), "alert");
    await page.getByTestId("opened-dismiss").click();
    assert.equal(await banner.count(), 0);
    assert.equal((await callsOf(page, "app_opened_take")).length >= 3, true, "taken at start and after each event");
    await context.close();
  });
});

describe("watch and settings", () => {
  test("watch folders list with state and reason; add, pause and remove", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-watch").click();
    await page.getByTestId("watch-row").first().waitFor();
    assert.match(await page.locator('[data-rule-id="w2"] [data-testid="watch-reason"]').textContent(), /folder is gone/);
    await screenshot(page, "watch");
    await page.getByTestId("watch-add").click();
    await page.locator('[data-testid="watch-row"]', { hasText: "/home/ada/Incoming" }).waitFor();
    assert.deepEqual(await callsOf(page, "watch_add"), [{ dir: "/home/ada/Incoming", account: "library", options: {
      recursive: false, include: [], exclude: [], settleSecs: 2, existing: "skip", after: "keep", also: [] } }]);
    await page.locator('[data-rule-id="w1"]').getByRole("button", { name: /Pause watching/ }).click();
    await poll(async () => (await page.locator('[data-rule-id="w1"]').getAttribute("data-state")) === "paused", "paused");
    await page.locator('[data-rule-id="w1"]').getByRole("button", { name: /Stop watching/ }).click();
    await page.locator('[data-rule-id="w1"]').waitFor({ state: "detached" });
    await context.close();
  });

  test("a folder is added with the options chosen in the form", async () => {
    const { page, context, errors } = await openApp(browser, server.url);
    await page.getByTestId("nav-watch").click();
    await page.getByTestId("watch-row").first().waitFor();
    await page.getByTestId("watch-options").locator("summary").click();
    await page.getByTestId("watch-recursive").check();
    await page.getByTestId("watch-include").fill("*.jpg, *.mp4 ,");
    await page.getByTestId("watch-exclude").fill("draft-*");
    await page.getByTestId("watch-settle").fill("5");
    await page.getByTestId("watch-existing").selectOption("import");
    await page.getByTestId("watch-after").selectOption("move");
    await page.getByTestId("watch-move-to").fill("uploaded");
    await page.getByTestId("watch-also-blog").check();
    await page.getByTestId("watch-add").click();
    const row = page.locator('[data-testid="watch-row"]', { hasText: "/home/ada/Incoming" });
    await row.waitFor();
    assert.deepEqual(await callsOf(page, "watch_add"), [{ dir: "/home/ada/Incoming", account: "library", options: {
      recursive: true, include: ["*.jpg", "*.mp4"], exclude: ["draft-*"], settleSecs: 5, existing: "import", after: "move:uploaded", also: ["blog"] } }]);
    assert.match(await row.textContent(), /→ library, blog · with subfolders · only \*\.jpg, \*\.mp4 · not draft-\* · then moved to uploaded\//);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("the watch screen degrades with a clear message when the commands are missing", async () => {
    const { page, context } = await openApp(browser, server.url, { scenario: { watchUnavailable: true } });
    await page.getByTestId("nav-watch").click();
    const msg = page.getByTestId("watch-unavailable");
    await msg.waitFor();
    assert.match(await msg.textContent(), /not available in this build: command watch_list not found/);
    await context.close();
  });

  test("settings load and save", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-settings").click();
    await page.getByTestId("settings-concurrency").fill("5");
    await page.getByTestId("settings-copy-format").selectOption("html");
    await page.getByTestId("settings-copy-after-upload").uncheck();
    await page.getByTestId("settings-start-minimised").check();
    await page.getByTestId("settings-drop-limit").fill("20000");
    await page.getByTestId("settings-keep-awake").uncheck();
    await page.getByTestId("settings-pause-on-battery").check();
    await page.getByTestId("settings-bwlimit").fill("08:00,512k 18:00,off");
    await screenshot(page, "settings");
    await page.getByTestId("settings-save").click();
    await page.getByTestId("settings-saved").waitFor();
    assert.deepEqual(await callsOf(page, "settings_set"), [{ settings: { concurrency: 5, perAccount: 2, defaultAccount: "library", copyFormat: "html", copyAfterUpload: false, startMinimised: true, closeToTray: true, dropLimit: 20000, bwlimit: "08:00,512k 18:00,off", slowBwlimit: "1M", slowDown: false, keepAwake: false, pauseOnMetered: false, pauseOnBattery: true } }]);
    await context.close();
  });

  test("the queue header slows down and back to full speed, and a limit of 0 says when sending starts", async () => {
    const { page, context } = await openApp(browser, server.url, { scenario: { bandwidthResumesAt: "2026-12-07T09:00:00+00:00" } });
    const line = page.getByTestId("bandwidth");
    await poll(async () => (await line.textContent())?.includes("Bandwidth: full speed"), "the header's bandwidth line");
    await page.getByTestId("bandwidth-slow").click();
    await poll(async () => (await line.textContent())?.includes("at most 1 MiB/s (slowed down)"), "the slowed-down rate");
    assert.deepEqual(await callsOf(page, "bandwidth_slow_down"), [{ on: true }]);
    await page.getByTestId("bandwidth-full").click();
    await poll(async () => (await line.textContent())?.includes("full speed"), "full speed again");

    // Settings: a mistake is refused with the syntax; a 0 rate makes the queue wait.
    await page.getByTestId("nav-settings").click();
    const limit = page.getByTestId("settings-bwlimit");
    await limit.fill("08:00 512k");
    await page.getByTestId("settings-save").click();
    await page.getByRole("alert").filter({ hasText: "08:00,512k 18:00,off" }).waitFor();
    await limit.fill("Sat-00:00,0 Mon-09:00,2M");
    await page.getByTestId("settings-save").click();
    await page.getByTestId("settings-saved").waitFor();
    await page.getByTestId("nav-queue").click();
    const waiting = page.getByTestId("bandwidth-waiting");
    await poll(async () => (await waiting.count()) === 1, "the waiting banner (polled with app_info)");
    assert.match(await waiting.textContent(), /says not to send now\.\s+Sending starts at /);
    await context.close();
  });

  test("an account whose own limit is 0 is named in the queue header, with when its uploads start", async () => {
    const { page, context } = await openApp(browser, server.url, { scenario: { bandwidthResumesAt: "2026-12-07T19:00:00+00:00" } });
    await page.evaluate(() => window.__TAURI_INTERNALS__.invoke("account_add", {
      name: "night", kind: "socialsyncer", options: { api_url: "https://example.invalid", bwlimit: "07:00,0 19:00,off" }, secret: "k",
    }));
    const banner = page.getByTestId("account-waiting");
    await poll(async () => (await banner.count()) === 1, "the account's waiting line (polled with app_info)");
    assert.equal(await banner.getAttribute("data-account"), "night");
    assert.match(await banner.textContent(), /Uploads to night wait: its bandwidth limit \(07:00,0 19:00,off\) says not to send now\.\s+They start at /);
    // Ferry's own line stays as it is: the other destinations go on.
    await page.getByTestId("bandwidth").waitFor();
    await screenshot(page, "queue-account-waiting");
    await context.close();
  });

  test("a file sent to several destinations is one library entry with a copy at each", async () => {
    const { page, context, errors } = await openApp(browser, server.url, { scenario: { fanout: true } });
    await page.getByTestId("nav-library").click();
    const group = page.getByTestId("library-group");
    await group.waitFor();
    assert.equal(await group.count(), 1);
    assert.match(await group.textContent(), /launch-poster\.png.*at 3 destinations/s);
    const copies = group.getByTestId("library-row");
    assert.equal(await copies.count(), 3);
    const accounts = [];
    for (let i = 0; i < 3; i++) accounts.push(await copies.nth(i).getAttribute("data-account"));
    assert.deepEqual(accounts.sort(), ["blog", "library", "social"]);
    // Each copy has its own link, status and actions.
    const social = group.locator('[data-testid="library-row"][data-account="social"]');
    assert.equal(await social.getAttribute("data-status"), "processing");
    assert.match(await social.getByTestId("library-url").textContent(), /media\.example\.test/);
    assert.equal(await group.locator('[data-account="blog"]').getByTestId("library-copy").count(), 1);
    // Other items stay one row each.
    assert.ok((await page.getByTestId("library-row").count()) >= 7);
    await screenshot(page, "library-copies");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("the proxy section saves a manual proxy, sends the password once and never shows it", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-settings").click();
    await page.getByTestId("proxy-mode").selectOption("manual");
    await page.getByTestId("proxy-address").fill("socks5://ada:pw@127.0.0.1:1080");
    await page.getByTestId("proxy-save").click();
    await page.getByTestId("proxy-error").waitFor();
    assert.match(await page.getByTestId("proxy-error").textContent(), /keychain/);
    assert.deepEqual(await callsOf(page, "proxy_set"), [], "refused before it was sent");
    await page.getByTestId("proxy-address").fill("socks5://127.0.0.1:1080");
    await page.getByTestId("proxy-user").fill("ada");
    await page.getByTestId("proxy-password").fill("s3cret");
    await page.getByTestId("proxy-save").click();
    await page.getByTestId("proxy-saved").waitFor();
    assert.deepEqual(await callsOf(page, "proxy_set"), [{ proxy: "socks5://127.0.0.1:1080", user: "ada", password: "s3cret", clearPassword: false }]);
    assert.equal(await page.getByTestId("proxy-password").inputValue(), "", "the field is emptied after saving");
    assert.match(await page.getByTestId("proxy-password-note").textContent(), /saved in the system keychain/);
    assert.ok(!(await page.content()).includes("s3cret"), "the password is nowhere in the page");
    await screenshot(page, "settings-proxy");
    // Saving again without typing one keeps it (no password sent).
    await page.getByTestId("proxy-save").click();
    await poll(async () => (await callsOf(page, "proxy_set")).length === 2, "the second save");
    assert.equal((await callsOf(page, "proxy_set"))[1].password, null);
    await context.close();
  });

  test("save diagnostics asks where, then says what it wrote", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-settings").click();
    await page.getByTestId("settings-diagnostics").click();
    const saved = page.getByTestId("settings-diagnostics-saved");
    await saved.waitFor();
    assert.match(await saved.textContent(), /Saved \/home\/ada\/ferry-diagnostics\.zip \(8 files, 20 KiB\)\. Links' queries and secrets were removed\./);
    assert.deepEqual(await callsOf(page, "diagnostics_save"), [{ path: "/home/ada/ferry-diagnostics.zip" }]);
    await context.close();
  });

  test("a big drop shows its count with Stop, then how the cap ended it", async () => {
    const { page, context } = await openApp(browser, server.url);
    const added = (queued, done, more = {}) => ({ type: "adding", id: 1, cap: 50000, done, added: { queued, notMedia: 0, unreadable: 0, capped: false, stopped: false, ...more } });
    await page.evaluate((e) => window.__ferryMock.send(e), added(12000, false));
    const banner = page.getByTestId("adding-banner");
    await poll(async () => (await banner.textContent())?.includes("12,000 queued so far"), "the running count");
    await page.getByTestId("adding-stop").click();
    await poll(async () => (await callsOf(page, "queue_add_stop")).length === 1, "queue_add_stop");
    await page.evaluate((e) => window.__ferryMock.send(e), added(50000, true, { capped: true }));
    await poll(async () => (await banner.textContent())?.includes("Stopped at 50,000 files"), "the cap's message");
    await page.getByTestId("adding-dismiss").click();
    assert.equal(await banner.count(), 0);
    await context.close();
  });

  test("start at login is switched at once from the system's state, and About shows the version", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-settings").click();
    const sw = page.getByTestId("settings-autostart");
    await poll(async () => !(await sw.isDisabled()), "the switch to read the login item");
    assert.equal(await sw.isChecked(), false, "off by default");
    await sw.check();
    await poll(async () => (await callsOf(page, "autostart_set")).length === 1, "autostart_set");
    assert.deepEqual(await callsOf(page, "autostart_set"), [{ enabled: true }]);
    assert.equal(await sw.isChecked(), true);
    assert.deepEqual(await callsOf(page, "settings_set"), [], "not a saved setting");
    assert.equal(await page.getByTestId("about-version").textContent(), "0.1.0");
    await context.close();
  });

  test("without a tray icon the settings say what closing the window does", async () => {
    let { page, context } = await openApp(browser, server.url);
    await page.getByTestId("nav-settings").click();
    await page.getByTestId("settings-form").waitFor();
    assert.equal(await page.getByTestId("settings-no-tray").count(), 0);
    await context.close();
    ({ page, context } = await openApp(browser, server.url, { scenario: { noTray: true } }));
    await page.getByTestId("nav-settings").click();
    const note = page.getByTestId("settings-no-tray");
    await note.waitFor();
    assert.match(await note.textContent(), /No tray icon is showing/);
    await context.close();
  });
});

describe("look and keyboard", () => {
  test("every screen is reachable with the keyboard and focus is visible", async () => {
    const { page, context } = await openApp(browser, server.url);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "nav-queue");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.getByTestId("screen-library").waitFor();
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(outline, "solid");
    await context.close();
  });

  test("dark mode screenshots of every screen", async () => {
    const { page, context } = await openApp(browser, server.url, { colorScheme: "dark" });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, "rgb(20, 23, 28)");
    for (const s of ["queue", "library", "watch", "accounts", "settings"]) {
      await page.getByTestId(`nav-${s}`).click();
      await page.getByTestId(`screen-${s}`).waitFor();
      await page.waitForTimeout(150);
      await screenshot(page, `dark-${s}`);
    }
    await context.close();
  });
});
