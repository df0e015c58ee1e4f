// The Settings screen's proxy form: a mode (system / none / manual), the manual proxy's
// address and user, and a password field that is only ever written (it goes to the OS
// keychain through proxy_set and is never read back into the page).
import type { ProxyView } from "../bindings";

export type ProxyMode = "system" | "none" | "manual";

export interface ProxyDraft {
  mode: ProxyMode;
  /** The manual proxy's URL, e.g. socks5://127.0.0.1:1080 (no credentials). */
  address: string;
  user: string;
  /** Typed by the person; empty keeps the saved one. Never filled from the backend. */
  password: string;
  clearPassword: boolean;
}

/** The form for what is saved now; the password field starts empty. */
export function draftOf(v: ProxyView): ProxyDraft {
  const mode: ProxyMode = v.proxy === "system" || v.proxy === "none" ? v.proxy : "manual";
  return { mode, address: mode === "manual" ? v.proxy : "", user: v.user ?? "", password: "", clearPassword: false };
}

/** The arguments of proxy_set for a draft; a refusal the backend would make for the
 * same reason is caught here first, with what to do. */
export function proxyArgs(d: ProxyDraft): { proxy: string; user: string | null; password: string | null; clearPassword: boolean } | { error: string } {
  if (d.mode !== "manual") {
    return { proxy: d.mode, user: null, password: null, clearPassword: d.clearPassword };
  }
  const address = d.address.trim();
  if (!address) return { error: "Enter the proxy's address, e.g. socks5://127.0.0.1:1080 or http://proxy.example:3128" };
  if (!/^(https?|socks5h?):\/\/[^/]/i.test(address)) {
    return { error: "The proxy's address starts with http://, https://, socks5:// or socks5h://" };
  }
  if (/^[a-z0-9]+:\/\/[^/@]*@/i.test(address)) {
    return { error: "Put the user and password in their own fields, not in the address: the password is kept in the system keychain" };
  }
  const user = d.user.trim();
  if (d.password && !user) return { error: "A proxy password needs a user" };
  return { proxy: address, user: user || null, password: d.password || null, clearPassword: d.clearPassword };
}

/** What the form says about the saved password. */
export function passwordNote(v: ProxyView): string {
  if (v.password === "keychain") return "A password is saved in the system keychain. Type a new one to replace it.";
  if (v.password.startsWith("env:")) return `The password is read from the environment variable ${v.password.slice(4)}.`;
  return "No password is saved.";
}
