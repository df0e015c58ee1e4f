// Library filtering on the client side (the engine filters too; this keeps typing instant).
import type { LibraryItem } from "../bindings";

export interface LibraryQuery { search: string; account: string; status: string }

export function filterLibrary(items: LibraryItem[], q: LibraryQuery): LibraryItem[] {
  const needle = q.search.trim().toLowerCase();
  return items
    .filter((i) => !q.account || i.account === q.account)
    .filter((i) => !q.status || i.status === q.status)
    .filter((i) => !needle || i.name.toLowerCase().includes(needle) || (i.url ?? "").toLowerCase().includes(needle))
    .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id));
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
