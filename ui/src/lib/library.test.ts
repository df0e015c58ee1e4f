import { describe, expect, test } from "vitest";
import type { LibraryItem } from "../bindings";
import { filterLibrary, hasLocalFile, isImage, isWebLink } from "./library";

function item(id: number, p: Partial<LibraryItem>): LibraryItem {
  return {
    id, account: "library", provider: "local", remote_id: `r${id}`, name: `f${id}.jpg`, mime_type: "image/jpeg",
    size: 1, content_hash: null, url: `https://x.test/f${id}.jpg`, status: "ready", created_at: `2026-01-0${id}T00:00:00Z`,
    expires_at: null, job_id: null, source: null, thumbnail: null, ...p,
  };
}

const items = [
  item(1, { account: "blog" }),
  item(3, { account: "video", status: "processing", name: "Clip.MP4", mime_type: "video/mp4" }),
  item(2, { name: "poster.png", url: "https://cdn.test/p.png" }),
];

describe("library filter", () => {
  test("newest first", () => {
    expect(filterLibrary(items, { search: "", account: "", status: "" }).map((i) => i.id)).toEqual([3, 2, 1]);
  });
  test("by destination and status", () => {
    expect(filterLibrary(items, { search: "", account: "blog", status: "" }).map((i) => i.id)).toEqual([1]);
    expect(filterLibrary(items, { search: "", account: "", status: "processing" }).map((i) => i.id)).toEqual([3]);
  });
  test("search is case-insensitive over name and URL", () => {
    expect(filterLibrary(items, { search: "clip", account: "", status: "" }).map((i) => i.id)).toEqual([3]);
    expect(filterLibrary(items, { search: "cdn.test", account: "", status: "" }).map((i) => i.id)).toEqual([2]);
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
