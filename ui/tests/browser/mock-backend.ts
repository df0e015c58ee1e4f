// Test-only: a fake Rust side for the built UI, injected with page.addInitScript before the
// app loads. Built to dist-mock/mock.js by vite.mock.config.ts; never part of dist/.
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type {
  AccountView, BandwidthNow, Event, Job, JobCursor, JobPage, Kind, LibraryItem, LibraryPage, Opened, ProviderInfo, ProxyView, QueueOrder, QueueSummary, Settings,
  WatchRuleView,
} from "../../src/bindings";

type Args = Record<string, unknown>;
interface Call { cmd: string; args: Args }
interface Scenario { watchUnavailable?: boolean; manyJobs?: number; manyItems?: number; emptyQueue?: boolean; noTray?: boolean; bandwidthResumesAt?: string; fanout?: boolean }

declare global {
  interface Window {
    __TAURI_INTERNALS__: {
      runCallback: (id: number, data: unknown) => void;
      invoke: (cmd: string, args?: unknown) => Promise<unknown>;
      convertFileSrc: (path: string, protocol?: string) => string;
    };
    __ferryScenario?: Scenario;
    __ferryMock: {
      calls: Call[];
      send: (e: Event) => void;
      emit: (event: string, payload: unknown) => Promise<void>;
      job: (id: number) => Job | undefined;
      /** Rust kept a note of files the desktop handed over, and says so. */
      open: (note: Opened) => Promise<void>;
    };
  }
}

const scenario: Scenario = window.__ferryScenario ?? {};
const now = Date.now();
const iso = (msAgo: number) => new Date(now - msAgo).toISOString();

const features = (f: Partial<ProviderInfo["features"]>): ProviderInfo["features"] => ({
  importUrl: false, testCredentials: false, listRemote: false, refreshStatus: false,
  deleteRemote: false, resumable: false, ...f,
});

const providers: ProviderInfo[] = [
  { kind: "local", displayName: "Local library", accepts: "*/*", maxBytes: null,
    features: features({ importUrl: true, listRemote: true, deleteRemote: true }),
    options: [
      { name: "dir", help: "Folder the library copies files into.", default: null, required: false, secret: false },
      { name: "name_template", help: "File names inside the folder.", default: null, required: false, secret: false },
    ] },
  { kind: "synposter", displayName: "Synposter", accepts: "image/*,video/*", maxBytes: 524288000,
    features: features({ importUrl: true, testCredentials: true }),
    options: [
      { name: "base_url", help: "API base URL.", default: "https://api.synposter.com", required: false, secret: false },
      { name: "workspace", help: "Workspace id the media belongs to.", default: null, required: true, secret: false },
      { name: "api_key", help: "API key from Settings → API.", default: null, required: true, secret: true },
    ] },
  { kind: "fastpix", displayName: "FastPix", accepts: "video/*,audio/*", maxBytes: null,
    features: features({ importUrl: true, testCredentials: true, listRemote: true, refreshStatus: true, deleteRemote: true, resumable: true }),
    options: [
      { name: "access_token_id", help: "Access token id.", default: null, required: true, secret: false },
      { name: "secret_key", help: "Secret key.", default: null, required: true, secret: true },
    ] },
  { kind: "socialsyncer", displayName: "SocialSyncer", accepts: "image/*,video/*", maxBytes: 104857600,
    features: features({ importUrl: true, testCredentials: true }),
    options: [{ name: "token", help: "Bearer token.", default: null, required: true, secret: true }] },
];

let accounts: AccountView[] = [
  { name: "library", kind: "local", options: {}, secret: "none", default: true },
  { name: "blog", kind: "synposter", options: { workspace: "ws_42" }, secret: "keychain", default: false },
  { name: "video", kind: "fastpix", options: { access_token_id: "tok_1" }, secret: "keychain", default: false },
  { name: "social", kind: "socialsyncer", options: {}, secret: "env:SOCIAL_TOKEN", default: false },
];

function job(id: number, p: Partial<Job>): Job {
  return {
    id, account: "library", sourceKind: "path", input: `/home/ada/Pictures/${p.name ?? `file-${id}.jpg`}`,
    name: `file-${id}.jpg`, origin: "drop", status: "queued", force: false, attempts: 0, error: null,
    bytesSent: 0, bytesTotal: 2_400_000, deduplicated: false, media: [], createdAt: iso(60_000),
    updatedAt: iso(1000), retryAt: null, priority: 0, ...p,
  };
}

const jobs = new Map<number, Job>();
if (!scenario.emptyQueue) {
  const seed: Job[] = [
    job(1, { name: "harbour-sunrise.jpg", status: "succeeded", bytesSent: 3_100_000, bytesTotal: 3_100_000,
      media: [{ id: "m1", name: "harbour-sunrise.jpg", url: "https://cdn.example.test/harbour-sunrise.jpg", mime_type: "image/jpeg", size: 3_100_000, status: "ready", expires_at: null }] }),
    job(2, { name: "interview-cut-<b>2</b>.mp4", account: "video", status: "failed", bytesSent: 1_000_000, bytesTotal: 84_000_000, attempts: 3,
      error: { code: "provider.rate_limited", message: "FastPix is limiting requests; try again in a minute" } }),
    job(3, { name: "team-offsite.png", account: "blog", status: "uploading", bytesSent: 1_200_000, bytesTotal: 5_000_000 }),
    job(4, { name: "podcast-ep12.mp3", status: "queued", bytesSent: 0, bytesTotal: 48_000_000 }),
  ];
  for (const j of seed) jobs.set(j.id, j);
}
for (let i = 0; i < (scenario.manyJobs ?? 0); i++) {
  const id = 1000 + i;
  jobs.set(id, job(id, { name: `bulk-${i}.jpg`, status: i % 3 === 0 ? "succeeded" : "queued", bytesSent: i % 3 === 0 ? 2_400_000 : 0 }));
}
let nextJob = 2000 + (scenario.manyJobs ?? 0);

const library: LibraryItem[] = [
  { id: 1, account: "library", provider: "local", remote_id: "r1", name: "harbour-sunrise.jpg", mime_type: "image/jpeg", size: 3_100_000,
    content_hash: "h1", url: "https://cdn.example.test/harbour-sunrise.jpg", status: "ready", created_at: iso(60_000), expires_at: null,
    job_id: 1, source: "/home/ada/Pictures/harbour-sunrise.jpg", thumbnail: "/home/ada/.cache/ferry/thumbs/sunrise.png" },
  { id: 2, account: "video", provider: "fastpix", remote_id: "r2", name: "launch-teaser.mp4", mime_type: "video/mp4", size: 120_000_000,
    content_hash: "h2", url: "https://stream.example.test/launch-teaser.m3u8", status: "processing", created_at: iso(3_600_000), expires_at: null,
    job_id: null, source: "/home/ada/Videos/launch-teaser.mp4", thumbnail: null },
  { id: 3, account: "social", provider: "socialsyncer", remote_id: "r3", name: "poster-final.png", mime_type: "image/png", size: 900_000,
    content_hash: "h3", url: "https://media.example.test/poster-final.png", status: "ready", created_at: iso(7_200_000),
    expires_at: new Date(now + 6 * 86_400_000 + 3_600_000).toISOString(), job_id: null, source: null, thumbnail: "/home/ada/.cache/ferry/thumbs/poster.png" },
  { id: 4, account: "blog", provider: "synposter", remote_id: "r4", name: "team-photo.jpg", mime_type: "image/jpeg", size: 2_200_000,
    content_hash: "h4", url: "https://cdn.synposter.example.test/team-photo.jpg", status: "ready", created_at: iso(86_400_000), expires_at: null,
    job_id: null, source: "/home/ada/Pictures/team-photo.jpg", thumbnail: "/home/ada/.cache/ferry/thumbs/team.png" },
];

// One file sent to three destinations at once (fan-out): the newest three items.
if (scenario.fanout) {
  const copy = (id: number, account: string, provider: Kind, url: string, expires: string | null, status: "ready" | "processing"): LibraryItem => ({
    id, account, provider, remote_id: `f${id}`, name: "launch-poster.png", mime_type: "image/png", size: 1_400_000, content_hash: "hf",
    url, status, created_at: iso(5_000), expires_at: expires, job_id: id, source: "/home/ada/Pictures/launch-poster.png",
    thumbnail: "/home/ada/.cache/ferry/thumbs/poster.png" });
  library.push(copy(50, "library", "local", "file:///home/ada/Pictures/Ferry/launch-poster.png", null, "ready"));
  library.push(copy(51, "blog", "synposter", "https://cdn.synposter.example.test/launch-poster.png", null, "ready"));
  library.push(copy(52, "social", "socialsyncer", "https://media.example.test/launch-poster.png",
    new Date(now + 6 * 86_400_000).toISOString(), "processing"));
}

for (let i = 0; i < (scenario.manyItems ?? 0); i++) {
  const id = 100 + i;
  library.push({ id, account: i % 2 ? "blog" : "library", provider: i % 2 ? "synposter" : "local", remote_id: `b${i}`,
    name: `bulk-item-${i}.jpg`, mime_type: "image/jpeg", size: 100_000, content_hash: null, url: `https://cdn.example.test/bulk-${i}.jpg`,
    status: "ready", created_at: iso(2 * 86_400_000 + 60_000 * i), expires_at: null, job_id: null, source: null, thumbnail: null });
}

// The engine's pages, as ferry-core makes them: open jobs, then finished ones (succeeded,
// cancelled), newest first in each; the library newest first (id order), filtered.
const finished = (j: Job) => j.status === "succeeded" || j.status === "cancelled";
function queuePage(limit: number, cursor: JobCursor | undefined): JobPage {
  const key = (j: { finished: boolean; id: number }) => [j.finished ? 1 : 0, -j.id];
  const all = [...jobs.values()].sort((a, b) => (finished(a) === finished(b) ? b.id - a.id : finished(a) ? 1 : -1));
  const after = cursor
    ? all.filter((j) => { const [g, k] = key({ finished: finished(j), id: j.id }); const [cg, ck] = key(cursor && { finished: cursor.finished, id: cursor.before }); return g > cg || (g === cg && k > ck); })
    : all;
  const out = limit === 0 ? [] : after.slice(0, limit);
  const last = out[out.length - 1];
  const summary: QueueSummary = { total: 0, queued: 0, running: 0, paused: 0, waitingRetry: 0, failed: 0, succeeded: 0, cancelled: 0, bytesSent: 0, bytesTotal: 0 };
  for (const j of jobs.values()) {
    summary.total++;
    if (j.status === "queued") summary.queued++;
    else if (j.status === "paused") summary.paused++;
    else if (j.status === "waiting_retry") summary.waitingRetry++;
    else if (j.status === "failed") summary.failed++;
    else if (j.status === "succeeded") summary.succeeded++;
    else if (j.status === "cancelled") summary.cancelled++;
    else summary.running++;
    if (j.status === "cancelled") continue;
    summary.bytesTotal += j.bytesTotal ?? 0;
    summary.bytesSent += j.status === "succeeded" ? (j.bytesTotal ?? j.bytesSent) : j.bytesSent;
  }
  return { jobs: out, next: limit > 0 && after.length > out.length && last ? { finished: finished(last), before: last.id } : null, summary };
}

function libraryPage(f: { account?: string; status?: string; search?: string; limit?: number; before?: number }): LibraryPage {
  const needle = f.search?.toLowerCase();
  const match = library
    .filter((i) => (!f.account || i.account === f.account) && (!f.status || i.status === f.status))
    .filter((i) => !needle || i.name.toLowerCase().includes(needle))
    // Newest first (the engine's id order is the order items were made in).
    .sort((a, b) => b.created_at.localeCompare(a.created_at));
  const at = f.before != null ? match.findIndex((i) => i.id === f.before) : -1;
  const rest = match.slice(at + 1);
  const items = rest.slice(0, f.limit ?? 100);
  return { items, total: match.length, next: rest.length > items.length ? items[items.length - 1].id : null };
}

let watchRules: WatchRuleView[] = [
  { id: "w1", dir: "/home/ada/Screenshots", account: "library", recursive: false, include: [], exclude: [], settle_secs: 2,
    existing: "skip", after: { action: "keep" }, paused: false, rescan_secs: 600, state: "watching", waiting: 1, reason: null, lastError: null },
  { id: "w2", dir: "/media/usb/DCIM", account: "blog", recursive: true, include: [], exclude: [], settle_secs: 2,
    existing: "skip", after: { action: "keep" }, paused: false, rescan_secs: 600, state: "unavailable", waiting: 0,
    reason: "the folder is gone (unplugged drive?); Ferry rescans when it comes back", lastError: null },
];

let proxy: ProxyView = { proxy: "system", user: null, password: "none" };
let queueOrder: QueueOrder = "added";
let settings: Settings = { concurrency: 3, perAccount: 2, defaultAccount: "library", copyFormat: "markdown", copyAfterUpload: true, startMinimised: false, closeToTray: true, dropLimit: 50000, bwlimit: "off", slowBwlimit: "1M", slowDown: false, keepAwake: true, pauseOnMetered: false, pauseOnBattery: false };

// The engine parses rclone's syntax (and its tests check it); the mock knows enough to
// answer the screens: a rate in binary units, off, 0, or TIME,RATE entries.
const RATE = /^(off|\d+(\.\d+)?[bkmgtp]?)$/i;
function rateOf(text: string): number | null {
  const t = text.trim().split(/\s+/)[0].split(",").pop() ?? "off";
  if (t.toLowerCase() === "off") return null;
  const units: Record<string, number> = { b: 1, k: 1024, m: 1 << 20, g: 1 << 30 };
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)$/i.exec(t);
  return m ? Math.round(Number(m[1]) * (units[m[2].toLowerCase()] ?? 1024)) : null;
}
function checkLimit(name: string, text: string | null) {
  const t = (text ?? "off").trim() || "off";
  const ok = t.split(/\s+/).every((e) => RATE.test(e.includes(",") ? e.split(",")[1] : e)) && (!t.includes(" ") || t.includes(","));
  if (!ok) reject("config.invalid", `\`${name}\` = "${t}": give a rate like 4M, 512k or off, or a timetable like "08:00,512k 18:00,off"`);
}
function bandwidthNow(): BandwidthNow {
  const limit = (settings.slowDown ? settings.slowBwlimit : settings.bwlimit) ?? "off";
  const bps = rateOf(limit);
  return {
    limit, rate: bps == null ? "off" : String(bps), bytesPerSec: bps, slowed: Boolean(settings.slowDown),
    waiting: bps === 0, resumesAt: bps === 0 ? (scenario.bandwidthResumesAt ?? null) : null,
    // An account's own "0", as the engine lists it (not while all of Ferry waits).
    accountsWaiting: bps === 0 ? [] : accounts
      .filter((a) => a.kind !== "local" && a.options.bwlimit != null && rateOf(a.options.bwlimit) === 0)
      .map((a) => ({ account: a.name, limit: a.options.bwlimit, resumesAt: scenario.bandwidthResumesAt ?? null })),
  };
}

let autostart = false;
let openedNotes: Opened[] = [];

const calls: Call[] = [];
let channelId: number | null = null;
let channelIndex = 0;

function send(e: Event) {
  if (channelId == null) throw new Error("events_subscribe was not called");
  window.__TAURI_INTERNALS__.runCallback(channelId, { index: channelIndex++, message: e });
}

function reject(code: string, message: string): never {
  throw { code, message };
}

function addJob(p: Partial<Job>): number {
  const id = nextJob++;
  const j = job(id, p);
  jobs.set(id, j);
  setTimeout(() => send({ type: "jobAdded", job: j }), 0);
  return id;
}

function handle(cmd: string, args: Args): unknown {
  switch (cmd) {
    case "app_info": return { version: "0.1.0", defaultAccount: "library", accounts: accounts.length, home: "/home/ada/.local/share/ferry", tray: !scenario.noTray, runner: { program: "the Ferry desktop app", pid: 4242, thisApp: true, problem: null, hold: null }, bandwidth: bandwidthNow() };
    case "providers_list": return providers;
    case "app_opened_take": { const n = openedNotes; openedNotes = []; return n; }
    case "autostart_get": return autostart;
    case "autostart_set": autostart = Boolean(args.enabled); return autostart;
    case "accounts_list": return accounts;
    case "account_add": {
      const name = String(args.name);
      if (accounts.some((a) => a.name === name)) reject("config.duplicate_account", `an account named ${name} already exists`);
      accounts = [...accounts, { name, kind: args.kind as AccountView["kind"], options: args.options as Record<string, string>, secret: args.secret ? "keychain" : "none", default: false }];
      return accounts;
    }
    case "account_name_preview": {
      const t = String(args.template);
      const bad = /\{(?!(yyyy|mm|dd|name|stem|ext|hash8|rule|account)\})[^}]*\}/.exec(t);
      if (bad) throw { code: "config.invalid", message: `name_template \`${t}\` uses \`${bad[0]}\`, which is not a token` };
      return t.replace("{account}", String(args.account)).replace("{name}", "IMG_2041.jpg").replace("{yyyy}", "2026");
    }
    case "account_remove": accounts = accounts.filter((a) => a.name !== args.name); return accounts;
    case "account_set_default": accounts = accounts.map((a) => ({ ...a, default: a.name === args.name })); return accounts;
    case "account_test":
      if (args.name === "video") reject("auth.invalid", "FastPix refused the access token (401)");
      return null;
    case "queue_list": {
      const p = (args.page ?? {}) as { limit?: number; cursor?: JobCursor };
      return queuePage(p.limit ?? 200, p.cursor);
    }
    case "queue_add_paths": {
      const paths = args.paths as string[];
      if (paths.some((p) => p.includes("missing"))) reject("input.not_found", "/tmp/missing.jpg does not exist");
      const to = [String(args.account), ...((args.also as string[] | undefined) ?? [])];
      return paths.flatMap((p) => to.map((account) => addJob({ name: p.split("/").pop() ?? p, input: p, account, origin: String(args.origin) })));
    }
    case "queue_add_urls": {
      const ids: number[] = [];
      const invalid: { line: number; input: string; message: string }[] = [];
      String(args.text).split("\n").forEach((raw, i) => {
        const input = raw.trim();
        if (!input) return;
        if (!/^https?:\/\/[^/\s]+/.test(input)) invalid.push({ line: i + 1, input, message: "not an http(s) URL" });
        else ids.push(addJob({ sourceKind: "url", input, name: input.split("/").pop() || input, account: String(args.account), origin: "paste" }));
      });
      return { jobs: ids, invalid };
    }
    // The system clipboard's file list (the page's own clipboard data covers these tests).
    case "clipboard_files": return [];
    case "queue_add_stop": return null;
    case "queue_paste_image": return addJob({ name: "pasted-image.png", account: String(args.account), origin: "paste" });
    case "queue_control": return args.id == null ? jobs.size : 1;
    case "queue_move_to_top": return (args.ids as number[]).length;
    case "queue_order_get": return queueOrder;
    case "queue_order_set": queueOrder = args.order as QueueOrder; return queueOrder;
    case "events_subscribe": channelId = (args.channel as { id: number }).id; channelIndex = 0; return null;
    case "library_list": return libraryPage((args.filter ?? {}) as Parameters<typeof libraryPage>[0]);
    case "library_remote":
      return [{ id: "v1", name: "launch-teaser.mp4", url: "https://stream.example.test/launch-teaser.m3u8", mime_type: "video/mp4", size: 120_000_000, status: "processing", expires_at: null }];
    case "library_refresh": return 0;
    case "library_copy": {
      const it = library.find((i) => i.id === args.id);
      if (!it?.url) reject("library.no_url", "this item has no URL");
      return args.format === "markdown" ? `![${it.name}](${it.url})` : it.url;
    }
    case "library_open": case "library_reveal": return null;
    case "library_delete": {
      const it = library.find((i) => i.id === args.id)!;
      it.status = "deleted";
      return it;
    }
    case "settings_get": return settings;
    case "settings_set": {
      const s = args.settings as Settings;
      checkLimit("bwlimit", s.bwlimit);
      checkLimit("slow_bwlimit", s.slowBwlimit);
      settings = s;
      return settings;
    }
    case "bandwidth_slow_down": settings = { ...settings, slowDown: Boolean(args.on) }; return bandwidthNow();
    case "proxy_get": return proxy;
    case "proxy_set": {
      const url = String(args.proxy);
      if (url.includes("@")) reject("config.invalid", "the proxy URL has a password in it; a proxy password goes in the OS keychain");
      const password = args.password ? "keychain" : args.clearPassword ? "none" : proxy.password;
      proxy = { proxy: url, user: (args.user as string | null) ?? null, password: url === "system" || url === "none" ? "none" : password };
      return proxy;
    }
    case "watch_list":
      if (scenario.watchUnavailable) reject("ipc.unknown_command", "command watch_list not found");
      return watchRules;
    case "watch_add":
      {
        const o = (args.options ?? {}) as { recursive?: boolean; include?: string[]; exclude?: string[]; settleSecs?: number; existing?: "skip" | "import"; after?: string; also?: string[] };
        const after = o.after?.startsWith("move:") ? { action: "move" as const, dir: o.after.slice(5) } : o.after === "delete" ? { action: "delete" as const } : { action: "keep" as const };
        watchRules = [...watchRules, {
          ...watchRules[0], id: `w${watchRules.length + 1}`, dir: String(args.dir), account: String(args.account), also: o.also ?? [], waiting: 0,
          recursive: o.recursive ?? false, include: o.include ?? [], exclude: o.exclude ?? [], settle_secs: o.settleSecs ?? 2, existing: o.existing ?? "skip", after,
        }];
      }
      return watchRules;
    case "watch_pause": watchRules = watchRules.map((r) => (r.id === args.id ? { ...r, paused: true, state: "paused" } : r)); return watchRules;
    case "watch_resume": watchRules = watchRules.map((r) => (r.id === args.id ? { ...r, paused: false, state: "watching" } : r)); return watchRules;
    case "watch_remove": watchRules = watchRules.filter((r) => r.id !== args.id); return watchRules;
    case "plugin:dialog|save": return "/home/ada/ferry-diagnostics.zip";
    case "diagnostics_save":
      if (!String(args.path).startsWith("/")) return reject("input.invalid", `\`${args.path}\` is not an absolute path`);
      return { path: args.path, entries: ["README.txt", "about.json", "settings.json", "accounts.json", "jobs.json", "watch.json", "checks.json", "logs/ferry.log"], bytes: 20480 };
    case "plugin:dialog|open": {
      const o = (args.options ?? {}) as { directory?: boolean };
      return o.directory ? "/home/ada/Incoming" : ["/home/ada/Pictures/picked-1.jpg", "/home/ada/Pictures/picked-2.jpg"];
    }
    default:
      reject("ipc.unknown_command", `mock has no command ${cmd}`);
  }
}

mockWindows("main");
mockIPC(
  (cmd, args) => {
    const a = (args ?? {}) as Args;
    calls.push({ cmd, args: JSON.parse(JSON.stringify(a, (k, v) => (k === "channel" ? "<channel>" : v))) });
    return handle(cmd, a);
  },
  { shouldMockEvents: true },
);
// Thumbnails come from the test server (it draws a coloured square per file name).
window.__TAURI_INTERNALS__.convertFileSrc = (p: string) => `/__thumb/${encodeURIComponent(p.split("/").pop() ?? p)}`;

window.__ferryMock = {
  calls,
  send,
  emit: async (event, payload) => {
    await window.__TAURI_INTERNALS__.invoke("plugin:event|emit", { event, payload });
  },
  job: (id) => jobs.get(id),
  open: async (note) => {
    openedNotes.push(note);
    await window.__TAURI_INTERNALS__.invoke("plugin:event|emit", { event: "opened", payload: null });
  },
};
