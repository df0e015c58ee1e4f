import { describe, expect, it } from "vitest";
import type { Opened } from "../bindings";
import { describeOpened } from "./opened";

const base: Opened = { account: "library", jobs: [], given: 0, names: [], skipped: [], error: null };

describe("describeOpened", () => {
  it("names what was queued and where", () => {
    const m = describeOpened({ ...base, jobs: [1, 2], given: 2, names: ["a.jpg", "b.mp4"] });
    expect(m).toEqual({ text: "Opened with Ferry: queued 2 files for library (a.jpg, b.mp4).", error: false });
  });

  it("counts the names it does not quote, and a folder's files", () => {
    const m = describeOpened({ ...base, jobs: [1, 2, 3, 4, 5, 6, 7], given: 6, names: ["1", "2", "3", "4", "5"] });
    expect(m.text).toBe("Opened with Ferry: queued 7 files for library (1, 2, 3, 4, 5 and 1 more).");
  });

  it("says what was left out, and is an error when nothing was queued", () => {
    const m = describeOpened({ ...base, skipped: ["sftp://h/a.jpg: not a local file"] });
    expect(m).toEqual({ text: "Nothing opened with Ferry could be queued. Left out: sftp://h/a.jpg: not a local file.", error: true });
  });

  it("quotes the refusal with its code", () => {
    const m = describeOpened({ ...base, given: 1, names: ["x"], error: { code: "config.unknown_account", message: "no account named `gone`" } });
    expect(m.error).toBe(true);
    expect(m.text).toBe("Could not queue the 1 file opened with Ferry: no account named `gone` (config.unknown_account).");
  });
});
