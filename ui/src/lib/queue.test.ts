import { describe, expect, test } from "vitest";
import { get } from "svelte/store";
import type { Job, JobCursor, QueueSummary } from "../bindings";
import { phaseLabel } from "./format";
import {
  announce, applyEvent, canMoveToTop, createQueueStore, emptyQueue, emptySummary, fromPage, mergePage, totals, visibleRange,
} from "./queue";

function job(id: number, p: Partial<Job> = {}): Job {
  return {
    id, account: "library", sourceKind: "path", input: `/tmp/${id}.jpg`, name: `${id}.jpg`, origin: "drop",
    status: "queued", force: false, attempts: 0, error: null, bytesSent: 0, bytesTotal: 1000, deduplicated: false,
    media: [], createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z", retryAt: null, priority: 0, ...p,
  };
}

const page = (jobs: Job[], next: JobCursor | null = null, summary: QueueSummary = emptySummary()) => ({ jobs, next, summary });
const fromJobs = (jobs: Job[]) => fromPage(page(jobs));

describe("queue events", () => {
  test("jobs load newest first and added jobs go on top", () => {
    let s = fromJobs([job(1), job(3), job(2)]);
    expect(s.order).toEqual([3, 2, 1]);
    s = applyEvent(s, { type: "jobAdded", job: job(4) });
    expect(s.order).toEqual([4, 3, 2, 1]);
  });

  test("progress updates bytes, phase, speed and eta without touching other rows", () => {
    const s0 = fromJobs([job(1), job(2)]);
    const s = applyEvent(s0, { type: "jobProgress", id: 1, phase: "uploading", bytesSent: 400, bytesTotal: 1000, speed: 200, etaSecs: 3 });
    const r = s.rows.get(1)!;
    expect(r.job.status).toBe("uploading");
    expect(r.job.bytesSent).toBe(400);
    expect([r.phase, r.speed, r.etaSecs]).toEqual(["uploading", 200, 3]);
    expect(s.rows.get(2)).toBe(s0.rows.get(2));
    expect(s0.rows.get(1)!.job.bytesSent).toBe(0); // pure
  });

  test("progress for an unknown job is ignored", () => {
    const s = emptyQueue();
    expect(applyEvent(s, { type: "jobProgress", id: 9, phase: "uploading", bytesSent: 1, bytesTotal: 2, speed: 1, etaSecs: 1 })).toBe(s);
  });

  test("the processing phase shows after the bytes are sent", () => {
    const s = applyEvent(fromJobs([job(1)]), { type: "jobProgress", id: 1, phase: "processing", bytesSent: 1000, bytesTotal: 1000, speed: 0, etaSecs: null });
    expect(s.rows.get(1)!.job.status).toBe("processing");
  });

  test("hashing and preparing are told apart while the job is preparing", () => {
    let s = applyEvent(fromJobs([job(1)]), { type: "jobProgress", id: 1, phase: "hashing", bytesSent: 0, bytesTotal: 0, speed: 0, etaSecs: null });
    expect(s.rows.get(1)!.job.status).toBe("preparing");
    expect(phaseLabel(s.rows.get(1)!.job.status, s.rows.get(1)!.phase)).toBe("hashing");
    s = applyEvent(s, { type: "jobProgress", id: 1, phase: "preparing", bytesSent: 0, bytesTotal: 0, speed: 0, etaSecs: null });
    expect(phaseLabel(s.rows.get(1)!.job.status, s.rows.get(1)!.phase)).toBe("preparing");
  });

  test("success clears speed and eta", () => {
    let s = applyEvent(fromJobs([job(1)]), { type: "jobProgress", id: 1, phase: "uploading", bytesSent: 500, bytesTotal: 1000, speed: 10, etaSecs: 50 });
    s = applyEvent(s, { type: "jobSucceeded", job: job(1, { status: "succeeded", bytesSent: 1000 }) });
    expect(s.rows.get(1)).toMatchObject({ speed: 0, etaSecs: null, phase: undefined });
  });

  test("a failure without an error on the job takes the event's code and message", () => {
    const s = applyEvent(fromJobs([job(1)]), { type: "jobFailed", job: job(1, { status: "failed" }), code: "auth.invalid", message: "key refused", retryable: false });
    expect(s.rows.get(1)!.job.error).toEqual({ code: "auth.invalid", message: "key refused" });
  });

  test("retrying keeps the reason until the job moves on", () => {
    let s = applyEvent(fromJobs([job(1)]), { type: "jobRetrying", id: 1, attempt: 2, delayMs: 4000, code: "provider.rate_limited", message: "slow down" });
    expect(s.rows.get(1)!.job.status).toBe("waiting_retry");
    expect(s.rows.get(1)!.retry).toMatchObject({ attempt: 2, code: "provider.rate_limited" });
    s = applyEvent(s, { type: "jobChanged", job: job(1, { status: "uploading" }) });
    expect(s.rows.get(1)!.retry).toBeUndefined();
  });

  test("unrelated events leave the state alone", () => {
    const s = fromJobs([job(1)]);
    expect(applyEvent(s, { type: "libraryChanged" })).toBe(s);
    expect(applyEvent(s, { type: "watchChanged", rule: "w1" })).toBe(s);
  });

  test("successes and failures are announced; progress is not", () => {
    expect(announce({ type: "jobSucceeded", job: job(1) })).toEqual({ kind: "done", text: "Uploaded 1.jpg" });
    const hold = { reason: "offline" as const, message: "Offline — waiting for the network", since: "2026-01-01T00:00:00Z" };
    expect(announce({ type: "holdChanged", hold })).toEqual({ kind: "held", text: "Offline — waiting for the network" });
    expect(announce({ type: "holdChanged", hold: null })).toEqual({ kind: "held", text: "Sending resumes" });
    expect(announce({ type: "jobFailed", job: job(1), code: "x.y", message: "no", retryable: false })?.text).toBe("Failed: 1.jpg — no (x.y)");
    expect(announce({ type: "jobProgress", id: 1, phase: "uploading", bytesSent: 1, bytesTotal: 2, speed: 1, etaSecs: 1 })).toBeNull();
  });

  test("totals are the whole queue's summary, speed the loaded rows'", () => {
    const summary = { ...emptySummary(), total: 12000, queued: 1990, running: 4, waitingRetry: 6, failed: 300, succeeded: 9500, cancelled: 200, bytesSent: 1250, bytesTotal: 3000 };
    let s = fromPage(page([job(2, { status: "uploading" })], { finished: false, before: 2 }, summary));
    s = applyEvent(s, { type: "jobProgress", id: 2, phase: "uploading", bytesSent: 10, bytesTotal: 1000, speed: 300, etaSecs: 3 });
    expect(totals(s)).toEqual({ jobs: 12000, active: 2000, done: 9500, failed: 300, bytesSent: 1250, bytesTotal: 3000, speed: 300 });
  });

  test("the store loads pages and applies events", () => {
    const q = createQueueStore();
    q.load(page([job(1)]));
    q.apply({ type: "jobAdded", job: job(2) });
    expect(get(q).order).toEqual([2, 1]);
    q.summary({ ...emptySummary(), total: 2 });
    expect(totals(get(q)).jobs).toBe(2);
  });
});

describe("queue pages", () => {
  const done = (id: number) => job(id, { status: "succeeded" });

  test("pages merge in order: open jobs first, then finished ones, newest first in each", () => {
    let s = fromPage(page([job(9), job(7, { status: "failed" }), job(5)], { finished: false, before: 5 }));
    expect(s.order).toEqual([9, 7, 5]);
    s = mergePage(s, page([job(2, { status: "paused" }), done(10), done(8)], { finished: true, before: 8 }));
    expect(s.order).toEqual([9, 7, 5, 2, 10, 8]);
    s = mergePage(s, page([done(6), done(1)], null));
    expect(s.order).toEqual([9, 7, 5, 2, 10, 8, 6, 1]);
    expect(s.next).toBeNull();
  });

  test("a job already loaded that comes again keeps one row and its live progress", () => {
    let s = fromPage(page([job(9), job(8)], { finished: false, before: 8 }));
    s = applyEvent(s, { type: "jobProgress", id: 8, phase: "uploading", bytesSent: 5, bytesTotal: 1000, speed: 50, etaSecs: 9 });
    s = mergePage(s, page([job(8, { status: "uploading", bytesSent: 5 }), job(3)], null));
    expect(s.order).toEqual([9, 8, 3]);
    expect(s.rows.get(8)!.speed).toBe(50);
  });

  test("a new job appears on top even before the rest is loaded", () => {
    let s = fromPage(page([job(9), job(8)], { finished: false, before: 8 }));
    s = applyEvent(s, { type: "jobAdded", job: job(12) });
    expect(s.order).toEqual([12, 9, 8]);
  });

  test("events for jobs beyond the loaded pages are ignored; they come with their page", () => {
    const s = fromPage(page([job(9), job(8)], { finished: false, before: 8 }));
    expect(applyEvent(s, { type: "jobProgress", id: 3, phase: "uploading", bytesSent: 1, bytesTotal: 2, speed: 1, etaSecs: 1 })).toBe(s);
    expect(applyEvent(s, { type: "jobChanged", job: job(3, { status: "uploading" }) })).toBe(s);
    // Finished while only open jobs are loaded: it belongs to the finished pages, not loaded yet.
    expect(applyEvent(s, { type: "jobSucceeded", job: done(4) })).toBe(s);
  });

  test("a loaded job that moves beyond the cursor leaves until its page comes", () => {
    let s = fromPage(page([job(9), job(8)], { finished: false, before: 8 }));
    s = applyEvent(s, { type: "jobSucceeded", job: done(9) });
    expect(s.order).toEqual([8]);
    // Once the finished section is loaded, a success moves the row down to it.
    s = mergePage(s, page([done(9)], null));
    s = applyEvent(s, { type: "jobSucceeded", job: done(8) });
    expect(s.order).toEqual([9, 8]);
    s = applyEvent(s, { type: "jobChanged", job: job(9, { status: "queued" }) });
    expect(s.order).toEqual([9, 8]);
    expect(s.rows.get(9)!.job.status).toBe("queued");
  });
});

describe("virtual list", () => {
  test("renders only the rows in view plus overscan, with padding for the rest", () => {
    const r = visibleRange(7600, 600, 76, 1000, 6);
    expect(r.first).toBe(94);
    expect(r.last).toBe(114);
    expect(r.padTop).toBe(94 * 76);
    expect(r.padBottom).toBe((1000 - 114) * 76);
  });

  test("clamps at both ends", () => {
    expect(visibleRange(0, 600, 76, 3)).toEqual({ first: 0, last: 3, padTop: 0, padBottom: 0 });
  });
});

describe("queue order", () => {
  test("only jobs that have not started can be moved to the top", () => {
    for (const s of ["queued", "paused", "waiting_retry"] as const) expect(canMoveToTop(s)).toBe(true);
    for (const s of ["preparing", "uploading", "processing", "succeeded", "failed", "cancelled"] as const) {
      expect(canMoveToTop(s)).toBe(false);
    }
  });

  test("a job moved to the top keeps its priority through later events", () => {
    let s = fromJobs([job(1), job(2)]);
    s = applyEvent(s, { type: "jobChanged", job: job(1, { priority: 3 }) });
    expect(s.rows.get(1)?.job.priority).toBe(3);
    expect(s.order).toEqual([2, 1]);
  });
});
