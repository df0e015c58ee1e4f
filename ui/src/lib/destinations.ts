// Fan-out: the destinations besides the picked one that what the person adds also goes
// to (a job per file and destination, in the engine). Kept here, apart from the app's
// other state, so the platform layer can add them to every addition without importing
// the screens' stores.
import { get, writable } from "svelte/store";

/** Accounts every drop, pick and paste also goes to, besides the picked destination. */
export const alsoTo = writable<string[]>([]);

/** `{ also }` for an addition to `account`, or nothing when it goes there alone. */
export function alsoFor(account: string): { also?: string[] } {
  const also = get(alsoTo).filter((a) => a !== account);
  return also.length ? { also } : {};
}

/** "blog", "blog and s3", "blog and 2 more": where an addition to `account` goes. */
export function destinationLabel(account: string): string {
  const also = get(alsoTo).filter((a) => a !== account);
  if (also.length === 0) return account;
  if (also.length === 1) return `${account} and ${also[0]}`;
  return `${account} and ${also.length} more`;
}

/** Keep only accounts that still exist. */
export function pruneAlso(names: string[]) {
  alsoTo.update((list) => list.filter((a) => names.includes(a)));
}
