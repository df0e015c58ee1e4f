import { describe, expect, test } from "vitest";
import { draftOf, passwordNote, proxyArgs } from "./proxy";

describe("proxy form", () => {
  test("a saved manual proxy fills the form but never the password", () => {
    const d = draftOf({ proxy: "socks5://127.0.0.1:1080", user: "ada", password: "keychain" });
    expect(d).toEqual({ mode: "manual", address: "socks5://127.0.0.1:1080", user: "ada", password: "", clearPassword: false });
    expect(draftOf({ proxy: "system", user: null, password: "none" }).mode).toBe("system");
    expect(draftOf({ proxy: "none", user: null, password: "none" }).mode).toBe("none");
  });

  test("system and none send no user or password", () => {
    expect(proxyArgs({ mode: "none", address: "http://x:1", user: "ada", password: "pw", clearPassword: false })).toEqual({ proxy: "none", user: null, password: null, clearPassword: false });
  });

  test("a manual proxy sends its address, user and a typed password; an empty one keeps the saved", () => {
    expect(proxyArgs({ mode: "manual", address: " http://proxy:3128 ", user: "ada", password: "pw", clearPassword: false })).toEqual({ proxy: "http://proxy:3128", user: "ada", password: "pw", clearPassword: false });
    expect(proxyArgs({ mode: "manual", address: "socks5://h:1080", user: "", password: "", clearPassword: false })).toEqual({ proxy: "socks5://h:1080", user: null, password: null, clearPassword: false });
  });

  test("bad addresses and credentials in the address are refused with what to do", () => {
    const base = { mode: "manual" as const, user: "", password: "", clearPassword: false };
    expect(proxyArgs({ ...base, address: "" })).toHaveProperty("error", expect.stringContaining("socks5://"));
    expect(proxyArgs({ ...base, address: "proxy:3128" })).toHaveProperty("error", expect.stringContaining("http://"));
    expect(proxyArgs({ ...base, address: "socks5://ada:pw@h:1080" })).toHaveProperty("error", expect.stringContaining("keychain"));
    expect(proxyArgs({ ...base, address: "http://h:1", password: "pw" })).toHaveProperty("error", "A proxy password needs a user");
  });

  test("the password note says where it is, never what", () => {
    expect(passwordNote({ proxy: "http://h:1", user: "a", password: "keychain" })).toContain("keychain");
    expect(passwordNote({ proxy: "http://h:1", user: "a", password: "env:PROXY_PW" })).toContain("PROXY_PW");
    expect(passwordNote({ proxy: "system", user: null, password: "none" })).toBe("No password is saved.");
  });
});
