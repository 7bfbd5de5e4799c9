// The error-code table against the code and the README, both ways (as fastify checks its errors against its docs).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "./codes.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const SRC = join(ROOT, "src");
const CODES = Object.keys(ERROR_CODES);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
  });
}

/** Every quoted "RFX_…" literal outside src/errors/, with the files it appears in. */
function codesUsedInSource(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const file of sourceFiles(SRC).filter((f) => !f.startsWith(join(SRC, "errors")))) {
    for (const m of readFileSync(file, "utf8").matchAll(/["'`](RFX_[A-Z_]+)["'`]/g)) {
      used.set(m[1], [...(used.get(m[1]) ?? []), relative(ROOT, file)]);
    }
  }
  return used;
}

/** Rows of the README's error table: `| \`RFX_…\` | status | meaning |`. */
function readmeTable(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const m of readFileSync(join(ROOT, "README.md"), "utf8").matchAll(/^\| `(RFX_[A-Z_]+)` \| (\d{3}) \|/gm))
    rows.set(m[1], Number(m[2]));
  return rows;
}

describe("error code table (src/errors/codes.ts)", () => {
  it("gives every code a 4xx/5xx status and a description", () => {
    for (const [code, def] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^RFX_[A-Z_]+$/);
      expect(def.status).toBeGreaterThanOrEqual(400);
      expect(def.status).toBeLessThan(600);
      expect(def.description.length).toBeGreaterThan(10);
    }
  });

  it("has every code raised somewhere in src/, and every code raised in src/ in the table", () => {
    const used = codesUsedInSource();
    expect(
      CODES.filter((c) => !used.has(c)),
      "codes nothing raises: remove them or raise them",
    ).toEqual([]);
    expect(
      [...used.keys()].filter((c) => !CODES.includes(c)),
      "codes used but missing from the table",
    ).toEqual([]);
  });

  it("is the README's error table, both ways, with the same statuses", () => {
    const readme = readmeTable();
    expect(
      CODES.filter((c) => !readme.has(c)),
      "codes missing from the README table",
    ).toEqual([]);
    expect(
      [...readme.keys()].filter((c) => !CODES.includes(c)),
      "README rows for codes that do not exist",
    ).toEqual([]);
    for (const c of CODES)
      expect(readme.get(c), `README status of ${c}`).toBe(ERROR_CODES[c as keyof typeof ERROR_CODES].status);
  });
});
