import { describe, expect, test } from "vitest";
import { namePreviewer, type NamePreview } from "./naming";
import type { CommandError } from "../bindings";

const toCommandError = (e: unknown): CommandError => e as CommandError;

describe("name template preview", () => {
  test("shows the rendered name, the refusal, or nothing for a blank template", async () => {
    const shown: NamePreview[] = [];
    const preview = namePreviewer(
      async (t) => {
        if (t.includes("{when}")) throw { code: "config.invalid", message: "name_template `{when}` uses `{when}`, which is not a token" };
        return t.replace("{name}", "IMG_2041.jpg");
      },
      (p) => shown.push(p),
      toCommandError,
    );
    await preview("{name}");
    await preview("{when}");
    await preview("  ");
    expect(shown).toEqual([
      { kind: "ok", name: "IMG_2041.jpg" },
      { kind: "error", text: "name_template `{when}` uses `{when}`, which is not a token (config.invalid)" },
      { kind: "none" },
    ]);
  });

  test("an answer that comes back after a newer one is not shown", async () => {
    const shown: NamePreview[] = [];
    const waits: Record<string, (v: string) => void> = {};
    const preview = namePreviewer(
      (t) => new Promise((resolve) => (waits[t] = resolve)),
      (p) => shown.push(p),
      toCommandError,
    );
    const slow = preview("{n");
    const fast = preview("{name}");
    waits["{name}"]("IMG_2041.jpg");
    await fast;
    waits["{n"]("stale");
    await slow;
    expect(shown).toEqual([{ kind: "ok", name: "IMG_2041.jpg" }]);
  });
});
