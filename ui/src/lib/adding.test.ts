import { describe, expect, test } from "vitest";
import { describeAdding, worthShowing, type AddingEvent } from "./adding";

const ev = (added: Partial<AddingEvent["added"]>, done: boolean, cap = 50_000): AddingEvent => ({
  type: "adding",
  id: 1,
  cap,
  done,
  added: { queued: 0, notMedia: 0, unreadable: 0, capped: false, stopped: false, ...added },
});

describe("a big drop being added", () => {
  test("counts while it runs, then says how it ended", () => {
    expect(describeAdding(ev({ queued: 12_000 }, false))).toEqual({ text: "Adding files… 12,000 queued so far", warn: false });
    expect(describeAdding(ev({ queued: 200_000 }, true)).text).toBe("Queued 200,000 files.");
    expect(describeAdding(ev({ queued: 3, notMedia: 1 }, true)).text).toBe(
      "Queued 3 files (1 file left out: not images, videos or audio).",
    );
  });

  test("the cap and Stop are warnings that name what happened and where the setting is", () => {
    const capped = describeAdding(ev({ queued: 50_000, capped: true }, true));
    expect(capped.warn).toBe(true);
    expect(capped.text).toContain("Stopped at 50,000 files, the most one drop adds");
    expect(capped.text).toContain("Settings");
    const stopped = describeAdding(ev({ queued: 7_000, stopped: true }, true));
    expect(stopped).toEqual({ text: "Stopped adding: 7,000 files queued.", warn: true });
  });

  test("small drops that ended normally need no banner", () => {
    expect(worthShowing(ev({ queued: 5 }, true))).toBe(false);
    expect(worthShowing(ev({ queued: 5 }, false))).toBe(true);
    expect(worthShowing(ev({ queued: 5, capped: true }, true, 5))).toBe(true);
    expect(worthShowing(ev({ queued: 20_000 }, true))).toBe(true);
  });
});
