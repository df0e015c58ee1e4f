// Hand-written from docs/ipc.md until ts-rs generates this folder (see docs/ipc.md "UI notes").
export type Kind = "local" | "synposter" | "socialsyncer" | "postsyncer" | "fastpix" | "s3";

export interface AppInfo { version: string; defaultAccount: string; accounts: number; home: string }

export interface OptionSpec { name: string; help: string; default: string | null; required: boolean; secret: boolean }

export interface Features {
  importUrl: boolean; testCredentials: boolean; listRemote: boolean;
  refreshStatus: boolean; deleteRemote: boolean; resumable: boolean;
}

export interface ProviderInfo {
  kind: Kind; displayName: string; options: OptionSpec[]; features: Features;
  accepts: string; maxBytes: number | null;
}

export interface AccountView {
  name: string; kind: Kind; options: Record<string, string>;
  /** "keychain" | "env:VAR" | "none" — never the value */
  secret: string; default: boolean;
}

export type JobStatus =
  | "queued" | "preparing" | "uploading" | "processing" | "succeeded"
  | "failed" | "cancelled" | "paused" | "waiting_retry";

export interface CommandError { code: string; message: string }

export interface RemoteMedia {
  id: string; name: string; url: string | null; mime_type: string; size: number | null;
  status: "ready" | "processing" | "failed"; expires_at: string | null;
}

export interface Job {
  id: number; account: string; sourceKind: "path" | "url"; input: string; name: string;
  origin: string; status: JobStatus; force: boolean; attempts: number;
  error: CommandError | null; bytesSent: number; bytesTotal: number | null;
  deduplicated: boolean; media: RemoteMedia[]; createdAt: string; updatedAt: string;
  retryAt: string | null;
}

export type LibraryStatus = "processing" | "ready" | "failed" | "expired" | "deleted";

export interface LibraryItem {
  id: number; account: string; provider: Kind; remote_id: string; name: string;
  mime_type: string | null; size: number | null; content_hash: string | null; url: string | null;
  status: LibraryStatus; created_at: string; expires_at: string | null; job_id: number | null;
  source: string | null; thumbnail: string | null;
}

export type Phase = "preparing" | "uploading" | "processing";

export type Event =
  | { type: "jobAdded"; job: Job }
  | { type: "jobProgress"; id: number; phase: Phase; bytesSent: number; bytesTotal: number | null; speed: number; etaSecs: number | null }
  | { type: "jobChanged"; job: Job }
  | { type: "jobSucceeded"; job: Job }
  | { type: "jobCancelled"; job: Job }
  | { type: "jobFailed"; job: Job; code: string; message: string; retryable: boolean }
  | { type: "jobRetrying"; id: number; attempt: number; delayMs: number; code: string; message: string }
  | { type: "libraryChanged" }
  | { type: "accountConcurrency"; account: string; limit: number }
  | { type: "watchChanged"; rule: string };

export type CopyFormat = "plain" | "markdown" | "html";

export interface Settings {
  concurrency: number; perAccount: number; defaultAccount: string; copyFormat: CopyFormat;
  startMinimised: boolean; closeToTray: boolean;
}

export interface InvalidLine { line: number; input: string; message: string }
export interface AddUrlsResult { jobs: number[]; invalid: InvalidLine[] }

export interface LibraryFilter { account?: string; status?: string; search?: string; limit?: number }

export type WatchState = "watching" | "paused" | "unavailable" | "degraded-polling" | "not running";
/** ferry-core `watch::RuleView`: the Rule flattened (snake_case fields) + live state (camelCase). */
export interface WatchRuleView {
  id: string; dir: string; account: string; recursive: boolean; include: string[]; exclude: string[];
  settle_secs: number; existing: string; after: string; paused: boolean; rescan_secs: number;
  state: WatchState | string; waiting: number; reason: string | null; lastError: string | null;
}
