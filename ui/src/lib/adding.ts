// A big drop or pick being added: Rust walks the folders in the background and reports
// its counts (`adding` events, after every 1,000 files and at the end). The banner shows
// the count while it runs, with Stop, and says how it ended when the cap or Stop ended it.
import { writable } from "svelte/store";
import type { Event } from "../bindings";

export type AddingEvent = Extract<Event, { type: "adding" }>;

/** The addition the banner shows (the latest one), or null. */
export const adding = writable<AddingEvent | null>(null);

const n = (x: number) => x.toLocaleString("en-US");
const files = (x: number) => `${n(x)} file${x === 1 ? "" : "s"}`;

/** What the banner says, and whether it is a warning (the addition stopped early). */
export function describeAdding(e: AddingEvent): { text: string; warn: boolean } {
  const a = e.added;
  const left = a.notMedia ? ` (${files(a.notMedia)} left out: not images, videos or audio)` : "";
  if (!e.done) return { text: `Adding files… ${n(a.queued)} queued so far`, warn: false };
  if (a.capped)
    return {
      text: `Stopped at ${files(e.cap)}, the most one drop adds (Settings → "Most files per drop"): ${n(a.queued)} queued, the rest left out${left}.`,
      warn: true,
    };
  if (a.stopped) return { text: `Stopped adding: ${files(a.queued)} queued${left}.`, warn: true };
  const unreadable = a.unreadable ? `; ${n(a.unreadable)} folder${a.unreadable === 1 ? "" : "s"} could not be read` : "";
  return { text: `Queued ${files(a.queued)}${left}${unreadable}.`, warn: Boolean(a.unreadable) };
}

/** Whether an ended addition is worth a banner (small drops say "Queued N" already). */
export function worthShowing(e: AddingEvent): boolean {
  return !e.done || e.added.capped || e.added.stopped || e.added.unreadable > 0 || e.added.queued >= 1000;
}
