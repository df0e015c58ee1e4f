// The library as the UI holds it: pages from the engine (which filters, searches and
// counts; the UI never holds all of a 100,000-item library), merged as they come.
import type { LibraryFilter, LibraryItem, LibraryPage } from "../bindings";

export interface LibraryQuery { search: string; account: string; status: string }

/** The engine's filter for what the screen's fields say (blank fields filter nothing). */
export function libraryFilter(q: LibraryQuery, limit: number, before?: number): LibraryFilter {
  const f: LibraryFilter = { limit };
  const search = q.search.trim();
  if (search) f.search = search;
  if (q.account) f.account = q.account;
  if (q.status) f.status = q.status;
  if (before != null) f.before = before;
  return f;
}

export interface LoadedLibrary { items: LibraryItem[]; total: number; next: number | null }

export const emptyLibrary = (): LoadedLibrary => ({ items: [], total: 0, next: null });

/**
 * The next page after what is loaded, in the engine's order (newest first): an item
 * already there (changed meanwhile) is replaced where it is, never doubled.
 */
export function mergeLibraryPage(loaded: LoadedLibrary, page: LibraryPage): LoadedLibrary {
  const fresh = new Map(page.items.map((i) => [i.id, i]));
  const items = loaded.items.map((i) => fresh.get(i.id) ?? i);
  const have = new Set(items.map((i) => i.id));
  for (const i of page.items) if (!have.has(i.id)) items.push(i);
  return { items, total: page.total, next: page.next };
}

/** One file as the library shows it: its copies at each destination. */
export interface CopyGroup { key: string; items: LibraryItem[] }

/**
 * Items next to each other (newest first) with the same bytes and name are one file sent
 * to several destinations (fan-out): one entry with a copy each. Anything else is an
 * entry of its own. The loaded pages stay the engine's; this only groups what is shown.
 */
export function groupCopies(items: LibraryItem[]): CopyGroup[] {
  const out: CopyGroup[] = [];
  for (const i of items) {
    const last = out[out.length - 1];
    const head = last?.items[0];
    if (head && i.content_hash && head.content_hash === i.content_hash && head.name === i.name
      && !last.items.some((c) => c.account === i.account)) {
      last.items.push(i);
    } else {
      out.push({ key: `i${i.id}`, items: [i] });
    }
  }
  return out;
}

export function isImage(item: { mime_type: string | null }): boolean {
  return !!item.mime_type && item.mime_type.startsWith("image/");
}

/** Whether "Open" applies: only http(s) links go to the browser (Rust decides again). */
export function isWebLink(url: string | null): boolean {
  return url != null && /^https?:\/\//i.test(url);
}

/**
 * Whether the item has a file on this computer to show in the file manager: it was sent
 * from a local path (not imported from a URL), or it lives in the local library.
 */
export function hasLocalFile(item: { source: string | null; url: string | null }): boolean {
  const local = (s: string) => s.startsWith("/") || /^[A-Za-z]:[\\/]/.test(s) || s.startsWith("\\\\");
  return (item.source != null && local(item.source)) || (item.url?.startsWith("file://") ?? false);
}
