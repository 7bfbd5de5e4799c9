// Finds the system binaries the deployment tests drive (promtool, prometheus, chromium): missing in CI is a
// failure, missing on a developer machine skips those tests with the install command.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export const INSTALL_HINT = "run scripts/ci-system-deps.sh (apt-get install prometheus chromium)";

export function isCI(): boolean {
  return process.env.CI === "true" || process.env.CI === "1";
}

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

export interface BinaryCheck {
  /** name → path of each binary found. */
  paths: Record<string, string>;
  missing: string[];
  /** True only outside CI with something missing: the caller skips and prints `note`. */
  skip: boolean;
  note: string;
}

/** Looks up several binaries; under CI=true a missing one never skips (the caller's require() throws instead). */
export function checkBinaries(names: string[]): BinaryCheck & { require(name: string): string } {
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const n of names) {
    const p = findBinary(n);
    if (p) paths[n] = p;
    else missing.push(n);
  }
  const note = missing.length ? `${missing.join(", ")} not found: ${INSTALL_HINT}` : "";
  const skip = missing.length > 0 && !isCI();
  if (skip) console.warn(`SKIPPED: ${note}`);
  return {
    paths,
    missing,
    skip,
    note,
    require(name) {
      const p = paths[name];
      if (!p) throw new Error(`${name} not found: ${INSTALL_HINT}${isCI() ? " — required in CI" : ""}`);
      return p;
    },
  };
}

/** For a single test: the binary's path, or (outside CI) skip with a note, or (in CI) throw. */
export function requireBinary(name: string, skip: (note: string) => never): string {
  const check = checkBinaries([name]);
  if (check.skip) return skip(check.note);
  return check.require(name);
}
