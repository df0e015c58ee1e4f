import { describe, expect, test } from "vitest";
import { toCommandError } from "./tauri";

describe("command errors", () => {
  test("{code, message} passes through", () => {
    expect(toCommandError({ code: "auth.invalid", message: "no", extra: 1 })).toEqual({ code: "auth.invalid", message: "no" });
  });
  test("anything else becomes a ui.error", () => {
    expect(toCommandError(new Error("boom"))).toEqual({ code: "ui.error", message: "boom" });
    expect(toCommandError("bare string")).toEqual({ code: "ui.error", message: "bare string" });
  });
});
