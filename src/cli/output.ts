// Printing helpers shared by CLI commands: JSON vs human output and the one-line error format.
import { isDebugEnabled } from "../config/index.ts";
import { isReflexiaError } from "../errors/index.ts";
import { redactStorePaths } from "../registry/redact-store-paths.ts";

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** Prints one clear line for a failure and sets a non-zero exit code; no stack traces for domain errors. */
export function reportError(e: unknown): void {
  if (isReflexiaError(e)) {
    process.stderr.write(`error: ${redactStorePaths(e.message)} (${e.code})\n`);
  } else {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${redactStorePaths(msg)}\n`);
    if (isDebugEnabled()) console.error(e);
  }
  process.exitCode = 1;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return "";
  const cols = columns ?? Object.keys(rows[0]);
  const cell = (v: unknown) =>
    v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join("\n");
}
