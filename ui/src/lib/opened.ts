// What the window says about files the desktop handed Ferry (a file manager's "Open with",
// `ferry-app a.jpg`, a second launch): one line per note from Rust (see src-tauri/opened.rs).
import type { Opened } from "../bindings";

export interface OpenedMessage {
  text: string;
  /** Nothing was queued: shown as an error. */
  error: boolean;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function describeOpened(n: Opened): OpenedMessage {
  const skipped = n.skipped.length > 0 ? ` Left out: ${n.skipped.join("; ")}.` : "";
  if (n.error) {
    return { text: `Could not queue the ${plural(n.given, "file")} opened with Ferry: ${n.error.message} (${n.error.code}).${skipped}`, error: true };
  }
  if (n.jobs.length === 0) {
    return { text: `Nothing opened with Ferry could be queued.${skipped}`, error: true };
  }
  const more = n.given > n.names.length ? ` and ${n.given - n.names.length} more` : "";
  const names = n.names.length > 0 ? ` (${n.names.join(", ")}${more})` : "";
  return { text: `Opened with Ferry: queued ${plural(n.jobs.length, "file")} for ${n.account}${names}.${skipped}`, error: false };
}
