// The queue as the UI holds it: the pages of jobs loaded so far (by id, with live progress),
// the cursor of the next page and the counts of the whole queue, updated by engine events.
// applyEvent and mergePage are pure (they return a new state): easy to test, cheap to diff.
import { writable } from "svelte/store";
import type { Event, Job, JobCursor, JobPage, JobStatus, Phase, QueueSummary } from "../bindings";
import { isActive } from "./format";

export interface JobRow {
  job: Job;
  phase?: Phase;
  speed: number;
  etaSecs: number | null;
  /** Last retry notice: shown while the job waits to retry. */
  retry?: { attempt: number; delayMs: number; code: string; message: string };
}

export interface QueueState {
  rows: Map<number, JobRow>;
  /** Job ids in display order: open jobs, then finished ones, newest first in each. */
  order: number[];
  /** Where the next page starts; null once every job is loaded. */
  next: JobCursor | null;
  /** Counts and bytes of the whole queue, loaded or not. */
  summary: QueueSummary;
}

export type Announcement = { kind: "done" | "failed" | "held"; text: string };

export function emptySummary(): QueueSummary {
  return { total: 0, queued: 0, running: 0, paused: 0, waitingRetry: 0, failed: 0, succeeded: 0, cancelled: 0, bytesSent: 0, bytesTotal: 0 };
}

export function emptyQueue(): QueueState {
  return { rows: new Map(), order: [], next: null, summary: emptySummary() };
}

/** Jobs that have not started (or wait to start again) can be moved to the top. */
export function canMoveToTop(status: JobStatus): boolean {
  return status === "queued" || status === "paused" || status === "waiting_retry";
}

/** Finished = succeeded or cancelled (the engine's second section); failed jobs stay open. */
export function isFinished(status: JobStatus): boolean {
  return status === "succeeded" || status === "cancelled";
}

/** Display order: negative when a comes first. */
function compare(a: { finished: boolean; id: number }, b: { finished: boolean; id: number }): number {
  if (a.finished !== b.finished) return a.finished ? 1 : -1;
  return b.id - a.id;
}

const keyOf = (j: Job) => ({ finished: isFinished(j.status), id: j.id });

/**
 * Whether a job belongs to what is loaded: at or before the cursor in display order.
 * A job beyond it (not loaded yet, or moved there) comes with a later page instead, so
 * the loaded rows are always one unbroken run from the top.
 */
export function inLoaded(s: QueueState, job: Job): boolean {
  if (!s.next) return true;
  return compare(keyOf(job), { finished: s.next.finished, id: s.next.before }) <= 0;
}

function sortOrder(rows: Map<number, JobRow>): number[] {
  return [...rows.values()].sort((a, b) => compare(keyOf(a.job), keyOf(b.job))).map((r) => r.job.id);
}

/** A fresh first page. */
export function fromPage(page: JobPage): QueueState {
  return mergePage({ ...emptyQueue(), next: { finished: false, before: Number.MAX_SAFE_INTEGER } }, page);
}

/**
 * The next page, added after what is loaded. A job already shown (it moved meanwhile)
 * keeps its live progress; the cursor and the counts are the page's.
 */
export function mergePage(s: QueueState, page: JobPage): QueueState {
  const rows = new Map(s.rows);
  for (const j of page.jobs) {
    const prev = rows.get(j.id);
    rows.set(j.id, prev && prev.job.status === j.status ? { ...prev, job: j } : { job: j, speed: 0, etaSecs: null });
  }
  const next = page.next;
  // Rows beyond the new cursor (moved there since they were loaded) wait for their page.
  const st: QueueState = { rows, order: [], next, summary: page.summary };
  for (const [id, r] of rows) if (!inLoaded(st, r.job)) rows.delete(id);
  st.order = sortOrder(rows);
  return st;
}

/** Fresh counts (from `queue_list` with limit 0). */
export function withSummary(s: QueueState, summary: QueueSummary): QueueState {
  return { ...s, summary };
}

function upsert(s: QueueState, job: Job, patch: Partial<JobRow> = {}): QueueState {
  const prev = s.rows.get(job.id);
  if (!inLoaded(s, job)) {
    if (!prev) return s;
    const rows = new Map(s.rows);
    rows.delete(job.id);
    return { ...s, rows, order: s.order.filter((id) => id !== job.id) };
  }
  const rows = new Map(s.rows);
  const finished = !isActive(job.status);
  rows.set(job.id, {
    job,
    phase: finished ? undefined : (patch.phase ?? prev?.phase),
    speed: finished ? 0 : (patch.speed ?? prev?.speed ?? 0),
    etaSecs: finished ? null : (patch.etaSecs ?? prev?.etaSecs ?? null),
    retry: job.status === "waiting_retry" ? (patch.retry ?? prev?.retry) : undefined,
  });
  const moved = !prev || isFinished(prev.job.status) !== isFinished(job.status);
  return { ...s, rows, order: moved ? sortOrder(rows) : s.order };
}

export function applyEvent(s: QueueState, e: Event): QueueState {
  switch (e.type) {
    case "jobAdded":
    case "jobChanged":
    case "jobSucceeded":
    case "jobCancelled":
      return upsert(s, e.job);
    case "jobFailed":
      return upsert(s, { ...e.job, error: e.job.error ?? { code: e.code, message: e.message } });
    case "jobProgress": {
      const prev = s.rows.get(e.id);
      if (!prev) return s;
      const status =
        e.phase === "processing" ? "processing" : e.phase === "uploading" ? "uploading" : "preparing";
      const job: Job = { ...prev.job, status, bytesSent: e.bytesSent, bytesTotal: e.bytesTotal };
      return upsert(s, job, { phase: e.phase, speed: e.speed, etaSecs: e.etaSecs });
    }
    case "jobRetrying": {
      const prev = s.rows.get(e.id);
      if (!prev) return s;
      const job: Job = { ...prev.job, status: "waiting_retry", attempts: e.attempt };
      return upsert(s, job, { retry: { attempt: e.attempt, delayMs: e.delayMs, code: e.code, message: e.message } });
    }
    default:
      return s;
  }
}

/** What to say in the live region for an event, if anything. */
export function announce(e: Event): Announcement | null {
  if (e.type === "jobSucceeded") return { kind: "done", text: `Uploaded ${e.job.name}` };
  if (e.type === "jobFailed") return { kind: "failed", text: `Failed: ${e.job.name} — ${e.message} (${e.code})` };
  if (e.type === "holdChanged") return { kind: "held", text: e.hold ? e.hold.message : "Sending resumes" };
  return null;
}

export interface Totals {
  jobs: number; active: number; done: number; failed: number;
  bytesSent: number; bytesTotal: number; speed: number;
}

/**
 * The total bar: counts and bytes of the whole queue (the summary, refreshed as jobs
 * change), speed over the loaded rows (the running jobs are always among them: open
 * jobs come first).
 */
export function totals(s: QueueState): Totals {
  const m = s.summary;
  let speed = 0;
  for (const r of s.rows.values()) speed += r.speed;
  return {
    jobs: m.total, active: m.queued + m.running + m.waitingRetry, done: m.succeeded, failed: m.failed,
    bytesSent: m.bytesSent, bytesTotal: m.bytesTotal, speed,
  };
}

export function createQueueStore() {
  const { subscribe, set, update } = writable<QueueState>(emptyQueue());
  return {
    subscribe,
    load: (page: JobPage) => set(fromPage(page)),
    more: (page: JobPage) => update((s) => mergePage(s, page)),
    summary: (m: QueueSummary) => update((s) => withSummary(s, m)),
    apply: (e: Event) => update((s) => applyEvent(s, e)),
  };
}

/** The visible window of a virtualised list of fixed-height rows. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 6) {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { first, last, padTop: first * rowHeight, padBottom: (count - last) * rowHeight };
}
