// Printing helpers shared by CLI commands: JSON vs human output and the one-line error format.
import { accessSync, constants, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isDebugEnabled } from "../config/index.ts";
import { isReflexiaError, ReflexiaError } from "../errors/index.ts";
import { redactStorePaths } from "../registry/redact-store-paths.ts";

/**
 * Refuses, before a long run starts, an output file (`--output`, `--html`) that could not be written at its end: its
 * folder missing or not writable, or the path itself a folder.
 */
export function checkOutputPath(flag: string, path: string): void {
  const dir = dirname(resolve(path));
  const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory();
  if (!isDir(dir)) throw new ReflexiaError("RFX_VALIDATION", `${flag} ${path}: the folder ${dir} does not exist`);
  if (isDir(resolve(path))) throw new ReflexiaError("RFX_VALIDATION", `${flag} ${path} is a folder; name a file`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new ReflexiaError("RFX_VALIDATION", `${flag} ${path}: the folder ${dir} is not writable`);
  }
}

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

/** How long ago `iso` was, in whole units ("1 minute ago", "3 hours ago"), as `list` shows MODIFIED. */
export function formatAgo(iso: string, now = Date.now()): string {
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (s < 60) return "seconds ago";
  const n = (count: number, unit: string) => `${count} ${unit}${count === 1 ? "" : "s"} ago`;
  if (s < 3600) return n(Math.floor(s / 60), "minute");
  if (s < 86400) return n(Math.floor(s / 3600), "hour");
  return n(Math.floor(s / 86400), "day");
}

/** Columns padded to their widest cell under an upper-case header; with `columns` named, no rows is the header alone. */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0 && !columns) return "";
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
