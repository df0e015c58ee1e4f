import { describe, expect, test } from "vitest";
import { checkText, checkUrlLine, pastedPaths, urlLines } from "./paste";

describe("pasted text", () => {
  test("non-empty lines keep their original line numbers", () => {
    expect(urlLines("a\n\n  b  \r\nc")).toEqual([
      { line: 1, input: "a" },
      { line: 3, input: "b" },
      { line: 4, input: "c" },
    ]);
  });

  test("only http and https URLs with a host pass the pre-check", () => {
    expect(checkUrlLine("https://example.test/a.jpg").ok).toBe(true);
    expect(checkUrlLine("http://example.test").ok).toBe(true);
    expect(checkUrlLine("ftp://example.test/a").message).toMatch(/not ftp/);
    expect(checkUrlLine("hello world")).toEqual({ ok: false, message: "not a URL" });
  });

  test("checkText reports each line", () => {
    const r = checkText("https://a.test/x\nnope");
    expect(r.map((l) => [l.line, l.ok])).toEqual([[1, true], [2, false]]);
  });

  test("copied files arrive as file URLs or absolute paths", () => {
    expect(pastedPaths("file:///home/ada/My%20Docs/a.pdf\r\nfile:///tmp/b.jpg")).toEqual(["/home/ada/My Docs/a.pdf", "/tmp/b.jpg"]);
    expect(pastedPaths("# comment\n/home/ada/x.png")).toEqual(["/home/ada/x.png"]);
    expect(pastedPaths("C:\\Users\\ada\\x.png")).toEqual(["C:\\Users\\ada\\x.png"]);
    // Windows file URIs keep their drive letter; a share keeps its server.
    expect(pastedPaths("file:///C:/Users/ada/My%20Pics/x.png")).toEqual(["C:/Users/ada/My Pics/x.png"]);
    expect(pastedPaths("file://localhost/C:/x.png")).toEqual(["C:/x.png"]);
    expect(pastedPaths("file://nas/media/x.png")).toEqual(["//nas/media/x.png"]);
    expect(pastedPaths("C:/Users/ada/x.png")).toEqual(["C:/Users/ada/x.png"]);
    expect(pastedPaths("https://example.test/a.jpg")).toBeNull();
    expect(pastedPaths("/tmp/a.jpg\nhttps://example.test/a.jpg")).toBeNull();
    expect(pastedPaths("   ")).toBeNull();
  });
});
