// Finds a system binary the deployment tests drive (promtool, prometheus, chromium): missing in CI is a failure,
// missing on a developer machine skips the test with the install command.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export function findBinary(name: string): string | undefined {
  const candidates = name.includes("/") ? [name] : (process.env.PATH ?? "").split(delimiter).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * The binary's path. When it is missing: throws under CI=true (so CI cannot pass without the real tool),
 * otherwise calls skip with a message naming the install script.
 */
export function requireBinary(name: string, skip: (note: string) => never): string {
  const found = findBinary(name);
  if (found) return found;
  const note = `${name} not found: run scripts/ci-system-deps.sh (apt-get install prometheus chromium)`;
  if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`${note} — required in CI`);
  console.warn(`SKIPPED: ${note}`);
  return skip(note);
}
