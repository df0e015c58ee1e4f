// The queue as the UI holds it: jobs by id plus live progress, updated by engine events.
// applyEvent is pure (returns a new state) so it is easy to test and cheap to diff.
import { writable } from "svelte/store";
import type { Event, Job, Phase } from "../bindings";
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
  /** Job ids, newest first. */
  order: number[];
}

export type Announcement = { kind: "done" | "failed"; text: string };

export function emptyQueue(): QueueState {
  return { rows: new Map(), order: [] };
}

export function fromJobs(jobs: Job[]): QueueState {
  const s = emptyQueue();
  for (const j of jobs) s.rows.set(j.id, { job: j, speed: 0, etaSecs: null });
  s.order = [...s.rows.keys()].sort((a, b) => b - a);
  return s;
}

function upsert(s: QueueState, job: Job, patch: Partial<JobRow> = {}): QueueState {
  const rows = new Map(s.rows);
  const prev = rows.get(job.id);
  const finished = !isActive(job.status);
  rows.set(job.id, {
    job,
    phase: finished ? undefined : (patch.phase ?? prev?.phase),
    speed: finished ? 0 : (patch.speed ?? prev?.speed ?? 0),
    etaSecs: finished ? null : (patch.etaSecs ?? prev?.etaSecs ?? null),
    retry: job.status === "waiting_retry" ? (patch.retry ?? prev?.retry) : undefined,
  });
  const order = prev ? s.order : [job.id, ...s.order].sort((a, b) => b - a);
  return { rows, order };
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
  return null;
}

export interface Totals {
  jobs: number; active: number; done: number; failed: number;
  bytesSent: number; bytesTotal: number; speed: number;
}

/** The total bar: bytes over the jobs that are not cancelled. */
export function totals(s: QueueState): Totals {
  const t: Totals = { jobs: 0, active: 0, done: 0, failed: 0, bytesSent: 0, bytesTotal: 0, speed: 0 };
  for (const r of s.rows.values()) {
    const j = r.job;
    t.jobs++;
    if (isActive(j.status)) t.active++;
    if (j.status === "succeeded") t.done++;
    if (j.status === "failed") t.failed++;
    if (j.status === "cancelled") continue;
    const total = j.bytesTotal ?? 0;
    t.bytesTotal += total;
    t.bytesSent += j.status === "succeeded" ? total : Math.min(j.bytesSent, total || j.bytesSent);
    t.speed += r.speed;
  }
  return t;
}

export function createQueueStore() {
  const { subscribe, set, update } = writable<QueueState>(emptyQueue());
  return {
    subscribe,
    load: (jobs: Job[]) => set(fromJobs(jobs)),
    apply: (e: Event) => update((s) => applyEvent(s, e)),
  };
}

/** The visible window of a virtualised list of fixed-height rows. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 6) {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { first, last, padTop: first * rowHeight, padBottom: (count - last) * rowHeight };
}
