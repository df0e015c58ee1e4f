// Pasted text: split into lines and pre-check them the way the engine will (one URL per
// non-empty line). The engine is the judge; this only shapes what we send and show.
export interface Line { line: number; input: string }
export interface LineCheck extends Line { ok: boolean; message: string }

/** Non-empty lines, trimmed, numbered from 1 as they appear in the text. */
export function urlLines(text: string): Line[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((input, i) => ({ line: i + 1, input: input.trim() }))
    .filter((l) => l.input.length > 0);
}

export function checkUrlLine(input: string): { ok: boolean; message: string } {
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    return { ok: false, message: "not a URL" };
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return { ok: false, message: `only http and https URLs can be imported, not ${u.protocol.replace(":", "")}` };
  }
  if (!u.hostname) return { ok: false, message: "the URL has no host" };
  return { ok: true, message: "" };
}

export function checkText(text: string): LineCheck[] {
  return urlLines(text).map((l) => ({ ...l, ...checkUrlLine(l.input) }));
}

/** Text that is a list of local paths (copied files arrive as text/uri-list or plain paths). */
export function pastedPaths(text: string): string[] | null {
  const lines = urlLines(text).map((l) => l.input).filter((l) => !l.startsWith("#"));
  if (lines.length === 0) return null;
  const paths: string[] = [];
  for (const l of lines) {
    if (l.startsWith("file://")) {
      try {
        const u = new URL(l);
        const path = decodeURIComponent(u.pathname);
        if (u.hostname && u.hostname !== "localhost") {
          // A network share (file://server/share/x.png): \\server\share\x.png on Windows.
          paths.push(`//${u.hostname}${path}`);
        } else {
          // file:///C:/x.png is C:/x.png on Windows, not the path /C:/x.png.
          paths.push(/^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path);
        }
      } catch {
        return null;
      }
    } else if (l.startsWith("/") || /^[A-Za-z]:[\\/]/.test(l)) {
      paths.push(l);
    } else {
      return null;
    }
  }
  return paths;
}
