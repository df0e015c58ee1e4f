import { describe, expect, test } from "vitest";
import { get } from "svelte/store";
import type { Job } from "../bindings";
import { phaseLabel } from "./format";
import { announce, applyEvent, createQueueStore, emptyQueue, fromJobs, totals, visibleRange } from "./queue";

function job(id: number, p: Partial<Job> = {}): Job {
  return {
    id, account: "library", sourceKind: "path", input: `/tmp/${id}.jpg`, name: `${id}.jpg`, origin: "drop",
    status: "queued", force: false, attempts: 0, error: null, bytesSent: 0, bytesTotal: 1000, deduplicated: false,
    media: [], createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z", retryAt: null, ...p,
  };
}

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
    expect(announce({ type: "jobFailed", job: job(1), code: "x.y", message: "no", retryable: false })?.text).toBe("Failed: 1.jpg — no (x.y)");
    expect(announce({ type: "jobProgress", id: 1, phase: "uploading", bytesSent: 1, bytesTotal: 2, speed: 1, etaSecs: 1 })).toBeNull();
  });

  test("totals count bytes of jobs that are not cancelled", () => {
    const s = fromJobs([
      job(1, { status: "succeeded", bytesSent: 0, bytesTotal: 1000 }),
      job(2, { status: "uploading", bytesSent: 250, bytesTotal: 1000 }),
      job(3, { status: "cancelled", bytesSent: 10, bytesTotal: 1000 }),
      job(4, { status: "failed", bytesSent: 0, bytesTotal: 1000 }),
    ]);
    expect(totals(s)).toMatchObject({ jobs: 4, active: 1, done: 1, failed: 1, bytesSent: 1250, bytesTotal: 3000 });
  });

  test("the store applies events", () => {
    const q = createQueueStore();
    q.load([job(1)]);
    q.apply({ type: "jobAdded", job: job(2) });
    expect(get(q).order).toEqual([2, 1]);
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
