// The only module that imports @tauri-apps/*: a typed wrapper over the IPC contract in docs/ipc.md.
import { invoke, Channel, convertFileSrc } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { open as openDialog, save as saveDialog } from "@tauri-apps/plugin-dialog";
import type {
  AccountView, AddUrlsResult, AppInfo, BandwidthNow, ChannelMessage, CommandError, CopyFormat, DiagnosticsSaved, Event, JobPage, LibraryFilter,
  LibraryItem, LibraryPage, Opened, ProviderInfo, QueueOrder, QueuePageRequest, RemoteMedia, Settings, WatchOptions,
  WatchRuleView,
} from "../bindings";
import { alsoFor } from "../lib/destinations";

export type QueueAction = "pause" | "resume" | "cancel" | "retry";
export type Origin = "drop" | "pick" | "args";

/** Normalise whatever a command rejected with into `{code, message}`. */
export function toCommandError(e: unknown): CommandError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const o = e as { code: unknown; message: unknown };
    return { code: String(o.code), message: String(o.message) };
  }
  if (e instanceof Error) return { code: "ui.error", message: e.message };
  return { code: "ui.error", message: String(e) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toCommandError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  providersList: () => call<ProviderInfo[]>("providers_list"),
  appOpenedTake: () => call<Opened[]>("app_opened_take"),
  autostartGet: () => call<boolean>("autostart_get"),
  diagnosticsSave: (path: string) => call<DiagnosticsSaved>("diagnostics_save", { path }),
  autostartSet: (enabled: boolean) => call<boolean>("autostart_set", { enabled }),
  accountsList: () => call<AccountView[]>("accounts_list"),
  accountAdd: (name: string, kind: string, options: Record<string, string>, secret: string | null) =>
    call<AccountView[]>("account_add", { name, kind, options, secret }),
  accountRemove: (name: string) => call<AccountView[]>("account_remove", { name }),
  /** What a name template makes of a sample file; rejects with why it is refused. */
  accountNamePreview: (kind: string, template: string, account: string) =>
    call<string>("account_name_preview", { kind, template, account }),
  accountTest: (name: string) => call<null>("account_test", { name }),
  accountSetDefault: (name: string) => call<AccountView[]>("account_set_default", { name }),
  queueAddPaths: (paths: string[], account: string, origin: Origin) =>
    call<number[]>("queue_add_paths", { paths, account, origin, ...alsoFor(account) }),
  queueAddStop: () => call<null>("queue_add_stop"),
  queueAddUrls: (text: string, account: string) =>
    call<AddUrlsResult>("queue_add_urls", { text, account, ...alsoFor(account) }),
  queuePasteImage: (account: string) => call<number>("queue_paste_image", { account, ...alsoFor(account) }),
  clipboardFiles: () => call<string[]>("clipboard_files"),
  /** One page of the queue (open jobs, then finished ones, newest first) and its counts. */
  queueList: (page: QueuePageRequest = {}) => call<JobPage>("queue_list", { page }),
  queueControl: (action: QueueAction, id: number | null) => call<number>("queue_control", { action, id }),
  /** Make these jobs the next to start, the first given first; how many moved. */
  queueMoveToTop: (ids: number[]) => call<number>("queue_move_to_top", { ids }),
  queueOrderGet: () => call<QueueOrder>("queue_order_get"),
  queueOrderSet: (order: QueueOrder) => call<QueueOrder>("queue_order_set", { order }),
  /** One page of the library, newest first, with how many items match in all. */
  libraryList: (filter: LibraryFilter) => call<LibraryPage>("library_list", { filter }),
  libraryRemote: (account: string) => call<RemoteMedia[]>("library_remote", { account }),
  libraryRefresh: (account: string | null) => call<number>("library_refresh", { account }),
  libraryDelete: (id: number) => call<LibraryItem>("library_delete", { id }),
  libraryCopy: (id: number, format: CopyFormat) => call<string>("library_copy", { id, format }),
  libraryOpen: (id: number) => call<null>("library_open", { id }),
  libraryReveal: (id: number) => call<null>("library_reveal", { id }),
  settingsGet: () => call<Settings>("settings_get"),
  settingsSet: (settings: Settings) => call<Settings>("settings_set", { settings }),
  bandwidthSlowDown: (on: boolean) => call<BandwidthNow>("bandwidth_slow_down", { on }),
  watchList: () => call<WatchRuleView[]>("watch_list"),
  watchAdd: (dir: string, account: string, options: WatchOptions = {}) =>
    call<WatchRuleView[]>("watch_add", { dir, account, options }),
  watchPause: (id: string) => call<WatchRuleView[]>("watch_pause", { id }),
  watchResume: (id: string) => call<WatchRuleView[]>("watch_resume", { id }),
  watchRemove: (id: string) => call<WatchRuleView[]>("watch_remove", { id }),
};

/**
 * Subscribe to the engine's event Channel. Rust sends at most 10 messages a second: one
 * event, a `batch` of events (in order), or `lagged` when events were dropped and the
 * caller must reload what it shows.
 */
export async function subscribeEvents(onEvent: (e: Event) => void, onLagged?: () => void): Promise<void> {
  const channel = new Channel<ChannelMessage>();
  channel.onmessage = (m) => {
    if (m.type === "batch") m.events.forEach(onEvent);
    else if (m.type === "lagged") onLagged?.();
    else onEvent(m);
  };
  await call<null>("events_subscribe", { channel });
}

export type DragKind = "enter" | "over" | "leave" | "drop";

/** Native drag and drop: Tauri's window events carry real paths. */
export async function onDragDrop(handler: (kind: DragKind, paths: string[]) => void): Promise<UnlistenFn> {
  const kinds: DragKind[] = ["enter", "over", "leave", "drop"];
  const unlistens = await Promise.all(
    kinds.map((k) =>
      listen<{ paths?: string[] }>(`tauri://drag-${k}`, (ev) => handler(k, ev.payload?.paths ?? [])),
    ),
  );
  return () => unlistens.forEach((u) => u());
}

/**
 * Files the desktop handed Ferry (Open with, launch arguments, a second launch): Rust
 * keeps a note of each until it is taken, and emits `opened` when there is a new one.
 * `handler` gets the notes waiting now and every later one, each exactly once.
 */
export async function onOpened(handler: (notes: Opened[]) => void): Promise<UnlistenFn> {
  const take = async () => {
    const notes = await call<Opened[]>("app_opened_take");
    if (notes.length > 0) handler(notes);
  };
  const unlisten = await listen("opened", () => void take());
  await take();
  return unlisten;
}

export async function pickFiles(): Promise<string[]> {
  const r = await openDialog({ multiple: true, directory: false });
  if (r == null) return [];
  return Array.isArray(r) ? r : [r];
}

export async function pickFolder(): Promise<string | null> {
  const r = await openDialog({ multiple: false, directory: true });
  if (r == null) return null;
  return Array.isArray(r) ? (r[0] ?? null) : r;
}

/** Where to save a file (the system's save dialog); null when the person cancels. */
export async function pickSaveFile(defaultPath: string): Promise<string | null> {
  return (await saveDialog({ defaultPath, filters: [{ name: "Zip archive", extensions: ["zip"] }] })) ?? null;
}

/** A thumbnail path inside the cache, served through the asset protocol. */
export function assetUrl(path: string): string {
  return convertFileSrc(path);
}
