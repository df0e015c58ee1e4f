// App-wide state shared by the screens: accounts, providers, the chosen destination, the
// queue, and the live-region messages.
import { get, writable } from "svelte/store";
import type { AccountView, BandwidthNow, ProviderInfo, RunnerInfo, Settings } from "../bindings";
import { api, subscribeEvents, toCommandError } from "../platform/tauri";
import { adding } from "./adding";
import { pruneAlso } from "./destinations";
import { announce, createQueueStore } from "./queue";

export const accounts = writable<AccountView[]>([]);
export const providers = writable<ProviderInfo[]>([]);
export const destination = writable<string>("library");
export const settings = writable<Settings | null>(null);
export const queue = createQueueStore();
export const liveMessage = writable<string>("");
export const libraryVersion = writable(0);
export const watchVersion = writable(0);
export const startupError = writable<string>("");
/** Who sends this home's queue: this app, another Ferry process, or nobody yet. */
export const runner = writable<RunnerInfo | null>(null);
/** All of Ferry's bandwidth limit now (polled with `runner`; set at once by the header's
 * Slow down / Full speed). */
export const bandwidth = writable<BandwidthNow | null>(null);

/** "Slow down" or "Full speed": saved, held at once. */
export async function setSlowDown(on: boolean) {
  bandwidth.set(await api.bandwidthSlowDown(on));
  settings.set(await api.settingsGet());
}

/** How often the app asks who runs the queue, and (when another process does) reloads
 * the queue from the journal: that process's progress reaches this window only so. */
const RUNNER_POLL_MS = 2000;

/** Jobs per page of the queue (the engine's default). */
export const QUEUE_PAGE = 200;
/** How often at most the queue's counts are read again while jobs change. */
const SUMMARY_MS = 1000;

/** The queue from the top again, as many jobs as were loaded (at most 1,000). */
async function reloadQueue() {
  const loaded = get(queue).order.length;
  queue.load(await api.queueList({ limit: Math.min(1000, Math.max(QUEUE_PAGE, loaded)) }));
}

/** How often at most a big drop's batches reload the queue's first page. */
const BULK_RELOAD_MS = 300;

/** `task` run once, `ms` after the first of any number of calls within that time; a
 * failure is left to the next call (the next event asks again). */
function coalesced(ms: number, task: () => Promise<void>): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return () => {
    if (timer) return;
    timer = setTimeout(async () => {
      try {
        await task();
      } catch {
        // The next event asks again.
      } finally {
        timer = null;
      }
    }, ms);
  };
}

/** Reload the queue (its page carries fresh counts) once per `jobsAdded` burst. */
const reloadQueueSoon = coalesced(BULK_RELOAD_MS, reloadQueue);

let loadingMore = false;
/** The queue's next page, if there is one and none is on its way. */
export async function loadMoreQueue() {
  const cursor = get(queue).next;
  if (!cursor || loadingMore) return;
  loadingMore = true;
  try {
    queue.more(await api.queueList({ limit: QUEUE_PAGE, cursor }));
  } catch (e) {
    const err = toCommandError(e);
    say(`Could not load more jobs: ${err.message} (${err.code})`);
  } finally {
    loadingMore = false;
  }
}

/** Read the queue's counts again soon (once per SUMMARY_MS however many events come). */
const refreshSummary = coalesced(SUMMARY_MS, async () => {
  queue.summary((await api.queueList({ limit: 0 })).summary);
});

function watchRunner() {
  setInterval(async () => {
    try {
      const info = await api.appInfo();
      runner.set(info.runner ?? null);
      bandwidth.set(info.bandwidth ?? null);
      if (info.runner && !info.runner.thisApp) await reloadQueue();
    } catch {
      // The next poll tries again.
    }
  }, RUNNER_POLL_MS);
}

export function say(text: string) {
  // Re-set even for the same text so screen readers hear it again.
  liveMessage.set("");
  queueMicrotask(() => liveMessage.set(text));
}

export function setAccounts(list: AccountView[]) {
  accounts.set(list);
  pruneAlso(list.map((a) => a.name));
  const cur = get(destination);
  if (!list.some((a) => a.name === cur)) {
    destination.set(list.find((a) => a.default)?.name ?? list[0]?.name ?? "library");
  }
}

export function providerFor(kind: string): ProviderInfo | undefined {
  return get(providers).find((p) => p.kind === kind);
}

export async function start() {
  try {
    const [info, provs, accts, jobs] = await Promise.all([
      api.appInfo(), api.providersList(), api.accountsList(), api.queueList({ limit: QUEUE_PAGE }),
    ]);
    providers.set(provs);
    runner.set(info.runner ?? null);
    bandwidth.set(info.bandwidth ?? null);
    watchRunner();
    destination.set(info.defaultAccount || "library");
    setAccounts(accts);
    queue.load(jobs);
    await subscribeEvents((e) => {
      queue.apply(e);
      if (e.type.startsWith("job")) refreshSummary();
      const a = announce(e);
      if (a) say(a.text);
      if (e.type === "libraryChanged" || e.type === "jobSucceeded") libraryVersion.update((n) => n + 1);
      if (e.type === "watchChanged") watchVersion.update((n) => n + 1);
      // Offline and back: the queue header says so at once (the runner poll would, later).
      if (e.type === "holdChanged") runner.update((r) => (r ? { ...r, hold: e.hold } : r));
      if (e.type === "adding") adding.set(e);
      // Many jobs at once (a big drop or paste) come as one event: reload the queue.
      if (e.type === "jobsAdded") reloadQueueSoon();
    }, async () => {
      // Events were dropped: reload what the events would have updated.
      await reloadQueue();
      libraryVersion.update((n) => n + 1);
      watchVersion.update((n) => n + 1);
    });
    settings.set(await api.settingsGet());
  } catch (e) {
    const err = toCommandError(e);
    startupError.set(`${err.message} (${err.code})`);
  }
}
