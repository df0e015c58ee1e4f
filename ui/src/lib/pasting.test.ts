import { beforeEach, describe, expect, test, vi } from "vitest";
import { get } from "svelte/store";

const queueAddPaths = vi.fn(async (paths: string[]) => paths.map((_, i) => i + 1));
const queueAddUrls = vi.fn(async () => ({ jobs: [1], invalid: [] }));
const queuePasteImage = vi.fn(async () => 1);
const clipboardFiles = vi.fn(async (): Promise<string[]> => []);
vi.mock("../platform/tauri", () => ({
  api: { queueAddPaths, queueAddUrls, queuePasteImage, clipboardFiles },
  toCommandError: (e: unknown) => e,
}));
vi.mock("./app", () => ({ say: vi.fn() }));

const { cancelPendingPaths, confirmPendingPaths, pasteFromEvent, pendingPaths } = await import("./pasting");

/** A paste event as the webview hands it over (only what pasteFromEvent reads). */
function paste(types: Record<string, string>, image = false): ClipboardEvent {
  const items = image ? [{ kind: "file", type: "image/png" }] : [];
  return { clipboardData: { items, getData: (t: string) => types[t] ?? "" } } as unknown as ClipboardEvent;
}

describe("Ctrl+V outside the paste box", () => {
  beforeEach(() => {
    vi.clearAllMocks();
    pendingPaths.set(null);
  });

  test("pasted file paths are shown and queued only after Queue", async () => {
    await pasteFromEvent(paste({ "text/uri-list": "file:///home/ada/a.jpg\r\nfile:///home/ada/My%20Docs/b.png" }), "blog");
    expect(get(pendingPaths)).toEqual(["/home/ada/a.jpg", "/home/ada/My Docs/b.png"]);
    expect(queueAddPaths).not.toHaveBeenCalled();
    await confirmPendingPaths("blog");
    expect(queueAddPaths).toHaveBeenCalledTimes(1);
    expect(queueAddPaths).toHaveBeenCalledWith(["/home/ada/a.jpg", "/home/ada/My Docs/b.png"], "blog", "pick");
    expect(get(pendingPaths)).toBeNull();
  });

  test("the system clipboard's file list wins over what the page sees, and asks too", async () => {
    // Explorer's copied files: the page may see nothing, or a uri-list Rust reads better.
    clipboardFiles.mockResolvedValueOnce(["C:\\Users\\ada\\a.jpg"]);
    await pasteFromEvent(paste({ "text/uri-list": "file:///C:/Users/ada/a.jpg" }), "blog");
    expect(get(pendingPaths)).toEqual(["C:\\Users\\ada\\a.jpg"]);
    expect(queuePasteImage).not.toHaveBeenCalled();
    // No file list (or the clipboard unreadable): the page's data decides, as before.
    clipboardFiles.mockRejectedValueOnce({ code: "clipboard.unavailable", message: "no" });
    await pasteFromEvent(paste({}, true), "blog");
    expect(queuePasteImage).toHaveBeenCalledWith("blog");
  });

  test("Cancel queues nothing, and plain-text paths ask too", async () => {
    await pasteFromEvent(paste({ "text/plain": "/home/ada/x.png" }), "library");
    expect(get(pendingPaths)).toEqual(["/home/ada/x.png"]);
    cancelPendingPaths();
    expect(get(pendingPaths)).toBeNull();
    await confirmPendingPaths("library");
    expect(queueAddPaths).not.toHaveBeenCalled();
  });

  test("a second paste replaces the one waiting, so it is asked once", async () => {
    await pasteFromEvent(paste({ "text/plain": "/tmp/one.png" }), "library");
    await pasteFromEvent(paste({ "text/plain": "/tmp/two.png" }), "library");
    expect(get(pendingPaths)).toEqual(["/tmp/two.png"]);
    await confirmPendingPaths("library");
    await confirmPendingPaths("library");
    expect(queueAddPaths).toHaveBeenCalledTimes(1);
    expect(queueAddPaths).toHaveBeenCalledWith(["/tmp/two.png"], "library", "pick");
  });

  test("URLs and images are queued directly, without asking", async () => {
    await pasteFromEvent(paste({ "text/plain": "https://example.test/a.jpg" }), "library");
    expect(queueAddUrls).toHaveBeenCalledWith("https://example.test/a.jpg", "library");
    await pasteFromEvent(paste({}, true), "library");
    expect(queuePasteImage).toHaveBeenCalledWith("library");
    expect(get(pendingPaths)).toBeNull();
  });
});
