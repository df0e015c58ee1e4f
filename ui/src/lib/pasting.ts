// Ctrl/Cmd+V anywhere: copied files (Rust reads the system clipboard's file list, since
// WebView2 and WKWebView may not show it to the page; else the page's text/uri-list or
// plain paths) → shown and queued once the person says so (queue_add_paths); an image →
// queue_paste_image (Rust reads the clipboard itself); text → queue_add_urls.
//
// Pasted paths ask first because a paste is easy to do by accident and the clipboard may
// hold paths someone else put there; dropping and picking are deliberate and stay direct.
import { get, writable } from "svelte/store";
import type { InvalidLine } from "../bindings";
import { api, toCommandError } from "../platform/tauri";
import { pastedPaths } from "./paste";
import { say } from "./app";

/** Invalid lines of the last paste, shown inline under the paste box. */
export const pasteInvalid = writable<InvalidLine[]>([]);
export const pasteError = writable<string>("");
/** Files a Ctrl+V outside the paste box would queue, waiting for Queue or Cancel. */
export const pendingPaths = writable<string[] | null>(null);

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

function askAbout(paths: string[]): void {
  // Ask once: the latest paste replaces one still waiting.
  pendingPaths.set(paths);
  say(`Queue ${paths.length} pasted file${paths.length === 1 ? "" : "s"}? Choose Queue or Cancel`);
}

export async function pasteFromEvent(ev: ClipboardEvent, account: string): Promise<void> {
  const data = ev.clipboardData;
  // Read while the event is being dispatched: the page's clipboard data is gone after.
  const hasImage = Array.from(data?.items ?? []).some((i) => i.kind === "file" && i.type.startsWith("image/"));
  const uriList = data?.getData("text/uri-list") ?? "";
  const text = data?.getData("text/plain") ?? "";
  // A file list first, then an image, then text: what the copying app meant most precisely.
  const files = await api.clipboardFiles().catch(() => [] as string[]);
  if (files.length) return askAbout(files);
  const source = uriList.trim() ? uriList : hasImage ? null : text;
  if (source === null) return pasteImage(account);
  if (!source.trim()) return;
  const paths = pastedPaths(source);
  if (paths) return askAbout(paths);
  await submitText(source, account);
}

/** Queue the pasted files the person confirmed. */
export async function confirmPendingPaths(account: string): Promise<void> {
  const paths = get(pendingPaths);
  pendingPaths.set(null);
  if (!paths) return;
  pasteError.set("");
  try {
    const ids = await api.queueAddPaths(paths, account, "pick");
    say(`Queued ${ids.length} file${ids.length === 1 ? "" : "s"}`);
  } catch (e) {
    const err = toCommandError(e);
    pasteError.set(`${err.message} (${err.code})`);
  }
}

export function cancelPendingPaths(): void {
  if (get(pendingPaths)) say("Nothing queued from the paste");
  pendingPaths.set(null);
}
