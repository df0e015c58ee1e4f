import { describe, expect, test } from "vitest";
import type { LibraryItem } from "../bindings";
import { emptyLibrary, groupCopies, hasLocalFile, isImage, isWebLink, libraryFilter, mergeLibraryPage } from "./library";

function item(id: number, p: Partial<LibraryItem>): LibraryItem {
  return {
    id, account: "library", provider: "local", remote_id: `r${id}`, name: `f${id}.jpg`, mime_type: "image/jpeg",
    size: 1, content_hash: null, url: `https://x.test/f${id}.jpg`, status: "ready", created_at: `2026-01-0${id}T00:00:00Z`,
    expires_at: null, job_id: null, source: null, thumbnail: null, ...p,
  };
}

describe("library pages", () => {
  test("blank fields filter nothing; set ones go to the engine as they are", () => {
    expect(libraryFilter({ search: "  ", account: "", status: "" }, 100)).toEqual({ limit: 100 });
    expect(libraryFilter({ search: " Clip ", account: "video", status: "ready" }, 50, 17)).toEqual({
      limit: 50, search: "Clip", account: "video", status: "ready", before: 17,
    });
  });

  test("pages append newest first, each item once, with the latest total and cursor", () => {
    let l = mergeLibraryPage(emptyLibrary(), { items: [item(9, {}), item(8, {})], total: 5, next: 8 });
    l = mergeLibraryPage(l, { items: [item(8, { status: "deleted" }), item(4, {}), item(2, {})], total: 6, next: null });
    expect(l.items.map((i) => i.id)).toEqual([9, 8, 4, 2]);
    expect(l.items[1].status).toBe("deleted");
    expect([l.total, l.next]).toEqual([6, null]);
  });

  test("images are recognised by MIME type", () => {
    expect(isImage({ mime_type: "image/png" })).toBe(true);
    expect(isImage({ mime_type: "video/mp4" })).toBe(false);
    expect(isImage({ mime_type: null })).toBe(false);
  });
});

describe("local files", () => {
  test("only paths and the local library's file URLs have a file to show", () => {
    expect(hasLocalFile({ source: "/home/ada/a.jpg", url: "https://cdn.example/a.jpg" })).toBe(true);
    expect(hasLocalFile({ source: "C:\\Users\\ada\\a.jpg", url: null })).toBe(true);
    expect(hasLocalFile({ source: "https://example.com/a.jpg", url: "https://cdn.example/a.jpg" })).toBe(false);
    expect(hasLocalFile({ source: "https://example.com/a.jpg", url: "file:///home/ada/.local/share/ferry/library/a.jpg" })).toBe(true);
    expect(hasLocalFile({ source: null, url: null })).toBe(false);
  });
});

describe("open", () => {
  test("only http(s) links are offered to the browser", () => {
    expect(isWebLink("https://cdn.example/a.jpg")).toBe(true);
    expect(isWebLink("HTTP://cdn.example/a.jpg")).toBe(true);
    expect(isWebLink("file:///home/ada/a.jpg")).toBe(false);
    expect(isWebLink("javascript:alert(1)")).toBe(false);
    expect(isWebLink(null)).toBe(false);
  });
});

describe("copies of one file at several destinations", () => {
  const item = (id: number, account: string, name: string, hash: string | null) =>
    ({ id, account, name, content_hash: hash }) as unknown as LibraryItem;
  test("neighbours with the same bytes and name are one entry, each destination once", () => {
    const g = groupCopies([
      item(9, "s3", "a.jpg", "h1"), item(8, "blog", "a.jpg", "h1"), item(7, "library", "a.jpg", "h1"),
      item(6, "s3", "b.jpg", "h2"), item(5, "s3", "b.jpg", "h2"),
      item(4, "blog", "c.jpg", null), item(3, "s3", "c.jpg", null),
      item(2, "blog", "renamed.jpg", "h1"),
    ]);
    expect(g.map((x) => x.items.map((i) => i.id))).toEqual([[9, 8, 7], [6], [5], [4], [3], [2]]);
  });
});
