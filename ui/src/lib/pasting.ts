// Ctrl/Cmd+V anywhere: an image → queue_paste_image (Rust reads the clipboard itself),
// copied files (text/uri-list or plain paths) → queue_add_paths, text → queue_add_urls.
import { writable } from "svelte/store";
import type { InvalidLine } from "../bindings";
import { api, toCommandError } from "../platform/tauri";
import { pastedPaths } from "./paste";
import { say } from "./app";

/** Invalid lines of the last paste, shown inline under the paste box. */
export const pasteInvalid = writable<InvalidLine[]>([]);
export const pasteError = writable<string>("");

export async function submitText(text: string, account: string): Promise<boolean> {
  pasteError.set("");
  try {
    const paths = pastedPaths(text);
    if (paths) {
      const ids = await api.queueAddPaths(paths, account, "pick");
      pasteInvalid.set([]);
      say(`Queued ${ids.length} file${ids.length === 1 ? "" : "s"}`);
      return true;
    }
    const r = await api.queueAddUrls(text, account);
    pasteInvalid.set(r.invalid);
    if (r.jobs.length) say(`Queued ${r.jobs.length} URL${r.jobs.length === 1 ? "" : "s"}`);
    if (r.invalid.length) say(`${r.invalid.length} line${r.invalid.length === 1 ? " is" : "s are"} not valid`);
    return r.invalid.length === 0;
  } catch (e) {
    const err = toCommandError(e);
    pasteError.set(`${err.message} (${err.code})`);
    return false;
  }
}

export async function pasteImage(account: string): Promise<void> {
  pasteError.set("");
  try {
    await api.queuePasteImage(account);
    say("Queued the pasted image");
  } catch (e) {
    const err = toCommandError(e);
    pasteError.set(`${err.message} (${err.code})`);
  }
}

export async function pasteFromEvent(ev: ClipboardEvent, account: string): Promise<void> {
  const data = ev.clipboardData;
  if (!data) return;
  const hasImage = Array.from(data.items ?? []).some((i) => i.kind === "file" && i.type.startsWith("image/"));
  const uriList = data.getData("text/uri-list");
  const text = data.getData("text/plain");
  if (uriList.trim()) await submitText(uriList, account);
  else if (hasImage) await pasteImage(account);
  else if (text.trim()) await submitText(text, account);
}
