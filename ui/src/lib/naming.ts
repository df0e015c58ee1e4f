// The account form's live preview of a name template. Rust renders it (the engine owns
// the tokens and the checks); typing fast sends several requests, and only the answer
// to the latest one is shown, whatever order the answers come back in.
import type { CommandError } from "../bindings";

export type NamePreview = { kind: "none" } | { kind: "ok"; name: string } | { kind: "error"; text: string };

/** The option of S3 and local library accounts that holds the template. */
export const TEMPLATE_OPTION = "name_template";

export function namePreviewer(
  ask: (template: string) => Promise<string>,
  show: (p: NamePreview) => void,
  toError: (e: unknown) => CommandError,
): (template: string) => Promise<void> {
  let latest = 0;
  return async (template: string) => {
    const mine = ++latest;
    if (!template.trim()) {
      show({ kind: "none" });
      return;
    }
    try {
      const name = await ask(template);
      if (mine === latest) show({ kind: "ok", name });
    } catch (e) {
      const err = toError(e);
      if (mine === latest) show({ kind: "error", text: `${err.message} (${err.code})` });
    }
  };
}
