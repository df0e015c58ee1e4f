// Pure formatters: bytes, speed, ETA, relative expiry, phase labels.
import type { JobStatus, Phase } from "../bindings";

const UNITS = ["B", "KB", "MB", "GB", "TB"];

export function formatBytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n) || n < 0) return "—";
  let v = n;
  let i = 0;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[i]}`;
}

export function formatSpeed(bytesPerSec: number | null | undefined): string {
  if (bytesPerSec == null || bytesPerSec <= 0) return "";
  return `${formatBytes(bytesPerSec)}/s`;
}

/** A bandwidth limit in the binary units it was set in (rclone's 4M is 4 MiB/s). */
export function formatLimit(bytesPerSec: number | null | undefined): string {
  if (bytesPerSec == null) return "no limit";
  if (bytesPerSec <= 0) return "0 (not sending)";
  const units = ["B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"];
  let v = bytesPerSec;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const shown = Number.isInteger(v) ? String(v) : v.toFixed(1);
  return `${shown} ${units[i]}`;
}

export function formatEta(secs: number | null | undefined): string {
  if (secs == null || !Number.isFinite(secs) || secs < 0) return "";
  const s = Math.round(secs);
  if (s < 60) return `${s}s left`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s left`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, "0")}m left`;
}

export function percent(sent: number, total: number | null): number {
  if (!total || total <= 0) return 0;
  return Math.max(0, Math.min(100, (sent / total) * 100));
}

/** "expires in 6 days" / "expires in 3 hours" / "expired". */
export function formatExpiry(expiresAt: string | null, now: Date = new Date()): string {
  if (!expiresAt) return "";
  const t = Date.parse(expiresAt);
  if (Number.isNaN(t)) return "";
  const ms = t - now.getTime();
  if (ms <= 0) return "expired";
  const hours = ms / 3_600_000;
  if (hours < 1) return `expires in ${Math.max(1, Math.round(ms / 60_000))} min`;
  if (hours < 48) {
    const h = Math.round(hours);
    return `expires in ${h} hour${h === 1 ? "" : "s"}`;
  }
  const d = Math.floor(hours / 24);
  return `expires in ${d} days`;
}

/** The phase a person sees for a job status (issue 5: waiting, hashing, uploading, ...).
 * "preparing" covers what is neither hashing nor sending: fetching a URL's first bytes,
 * asking the destination for an upload. */
export type PhaseLabel =
  | "waiting" | "preparing" | "hashing" | "uploading" | "processing" | "done" | "failed" | "paused" | "cancelled"
  | "retrying" | "offline";

/** `errorCode`: the job's error; `network.offline` on a waiting job reads "offline". */
export function phaseLabel(status: JobStatus, phase?: Phase, errorCode?: string): PhaseLabel {
  if (status === "waiting_retry" && errorCode === "network.offline") return "offline";
  switch (status) {
    case "queued": return "waiting";
    case "preparing": return phase === "hashing" ? "hashing" : "preparing";
    case "uploading": return phase === "processing" ? "processing" : "uploading";
    case "processing": return "processing";
    case "succeeded": return "done";
    case "failed": return "failed";
    case "cancelled": return "cancelled";
    case "paused": return "paused";
    case "waiting_retry": return "retrying";
  }
}

export function isActive(status: JobStatus): boolean {
  return status === "queued" || status === "preparing" || status === "uploading" ||
    status === "processing" || status === "waiting_retry";
}

const ACRONYMS: Record<string, string> = { api: "API", url: "URL", id: "ID", s3: "S3", http: "HTTP", https: "HTTPS" };

/** A provider option's key as a form label: `api_url` → "API URL", `access_key_id` → "Access key ID". */
export function optionLabel(name: string): string {
  const words = name.split(/[_\s]+/).filter((w) => w.length > 0).map((w) => ACRONYMS[w.toLowerCase()] ?? w.toLowerCase());
  if (words.length === 0) return name;
  const [first, ...rest] = words;
  return [first.charAt(0).toUpperCase() + first.slice(1), ...rest].join(" ");
}

/** The help under a secret field, saying once that it goes to the keychain. */
export function secretHelp(help: string): string {
  const note = "Stored in the OS keychain; Ferry never shows it again.";
  const own = help.replace(/,?\s*kept in the OS keychain\.?\s*$/i, "").trim();
  if (!own) return note;
  return `${own}${/[.!?]$/.test(own) ? "" : "."} ${note}`;
}

// One formatter for every date shown: `Date.toLocaleString()` builds a new ICU formatter
// on each call, which a 200-row library page turns into tens of MiB in the webview.
let dateFormat: Intl.DateTimeFormat | undefined;

/** A timestamp in the user's locale, short: "25 Nov 2026, 02:13". */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  dateFormat ??= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  return dateFormat.format(d);
}
