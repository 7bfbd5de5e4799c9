// Reflexia's version, read once from its package.json: what --version, /api/version and the reports print.
import { readFileSync } from "node:fs";

let cached: string | undefined;

/** The `version` of package.json; "0.0.0" when it cannot be read (a stripped install). */
export function packageVersion(): string {
  if (cached === undefined) {
    try {
      cached = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string })
        .version;
    } catch {
      cached = "0.0.0";
    }
  }
  return cached;
}
