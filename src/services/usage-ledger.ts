// Usage per API key name: counts requests, errors and tokens into the metrics (bounded label set), appends one
// JSON line per request to the rotated usage log under the home, and enforces the per-key quotas on the requests
// that run a model (reserved at admission, so concurrent requests cannot pass a quota together).
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import type { UsageMetrics } from "../metrics/index.ts";

/** One line of the usage log. */
export interface UsageRecord {
  /** ISO time the request ended. */
  ts: string;
  key: string;
  method: string;
  route: string;
  status: number;
  prompt_tokens: number;
  completion_tokens: number;
}

export interface UsageLedgerOptions {
  config: Pick<Config, "home" | "usage" | "auth">;
  metrics?: UsageMetrics;
  /** Clock in ms. Defaults to Date.now. */
  now?: () => number;
}

/** A request admitted under its key's quota: one request of the window is reserved for it. */
export interface QuotaAdmission {
  /** Adds tokens the request's generation reported to the window at once, so later admissions see them. */
  addTokens(tokens: number): void;
  /** The request ran no model after all (refused, invalid): its reserved request is given back. Idempotent. */
  release(): void;
}

export interface UsageLedger {
  /** Records a finished request in the metrics and the log (status ≥ 400 counts as an error); quotas are apart. */
  record(entry: Omit<UsageRecord, "ts">): void;
  /**
   * Admits a request of `key`: undefined when its route runs no model (`runsModel`, the route's own flag: listing
   * models, status and the like are free, so a client polling them keeps its quota) or the key has no quota; else
   * checks the quota and reserves one request in the same step (throws RFX_QUOTA_EXCEEDED, retryAfterSeconds = the
   * window's end, when the requests reserved or the tokens counted reached it).
   */
  admit(key: string, runsModel: boolean): QuotaAdmission | undefined;
  /** Where the log lives. */
  readonly logPath: string;
  /** Closes the log file (it reopens on the next record). */
  close(): void;
}

/** The usage log of a home: `<home>/usage/usage.log` (rotated to usage.log.1 … .N). */
export const usageLogPath = (home: string): string => join(home, "usage", "usage.log");

export function createUsageLedger(options: UsageLedgerOptions): UsageLedger {
  const { config, metrics } = options;
  const now = options.now ?? Date.now;
  const logPath = usageLogPath(config.home);
  const labels = new Set<string>();
  // Metric label for a key name: the first usage.max_key_labels names keep their own series, the rest share one.
  const labelOf = (key: string): string => {
    if (labels.has(key)) return key;
    if (labels.size < config.usage.max_key_labels) {
      labels.add(key);
      return key;
    }
    return "other";
  };
  // Per key and quota: the current fixed window's start and what it used (requests reserved, tokens reported).
  const windows = new Map<string, { start: number; tokens: number; requests: number }>();
  const quotaOf = (key: string) => config.auth.quotas.find((q) => q.key === key);
  const windowOf = (key: string, seconds: number) => {
    const ms = seconds * 1000;
    const start = Math.floor(now() / ms) * ms;
    let w = windows.get(key);
    if (!w || w.start !== start) windows.set(key, (w = { start, tokens: 0, requests: 0 }));
    return w;
  };

  // The log stays open (O_APPEND) and its size is tracked here: a request costs one write, no open or stat.
  let fd: number | undefined;
  let size = 0;
  const open = (): number => {
    mkdirSync(join(config.home, "usage"), { recursive: true });
    fd = openSync(logPath, "a");
    size = fstatSync(fd).size;
    return fd;
  };
  const close = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  const rotate = (): void => {
    close();
    const keep = config.usage.log_keep_files;
    if (keep === 0) {
      rmSync(logPath, { force: true });
      return;
    }
    rmSync(`${logPath}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      try {
        renameSync(`${logPath}.${i}`, `${logPath}.${i + 1}`);
      } catch {
        // absent: nothing to shift
      }
    }
    renameSync(logPath, `${logPath}.1`);
  };

  return {
    logPath,
    record(entry) {
      const label = labelOf(entry.key);
      metrics?.requests.inc({ key: label });
      if (entry.status >= 400) metrics?.errors.inc({ key: label });
      if (entry.prompt_tokens) metrics?.tokens.inc({ key: label, type: "prompt" }, entry.prompt_tokens);
      if (entry.completion_tokens) metrics?.tokens.inc({ key: label, type: "completion" }, entry.completion_tokens);
      try {
        const line = Buffer.from(JSON.stringify({ ts: new Date(now()).toISOString(), ...entry }) + "\n");
        if (fd === undefined) open();
        if (size > 0 && size + line.length > config.usage.log_max_bytes) {
          rotate();
          open();
        }
        // One write per line with O_APPEND: lines never interleave, even with another writer on the file.
        writeSync(fd!, line);
        size += line.length;
      } catch {
        // Accounting must never fail a request: the metrics above still count it.
        close();
      }
    },
    close,
    admit(key, runsModel) {
      const q = quotaOf(key);
      if (!q || !runsModel) return undefined;
      // Check and reserve in one synchronous step: no other admission can run between them.
      const w = windowOf(key, q.window_seconds);
      const over =
        q.requests !== undefined && w.requests >= q.requests
          ? `${w.requests} of ${q.requests} requests`
          : q.tokens !== undefined && w.tokens >= q.tokens
            ? `${w.tokens} of ${q.tokens} tokens`
            : undefined;
      if (over) {
        const retryAfterSeconds = Math.max(1, Math.ceil((w.start + q.window_seconds * 1000 - now()) / 1000));
        throw new ReflexiaError(
          "RFX_QUOTA_EXCEEDED",
          `API key ${key} used ${over} of its quota for this ${q.window_seconds} s window; retry in ${retryAfterSeconds} s`,
          { retryAfterSeconds, key },
        );
      }
      w.requests++;
      let released = false;
      return {
        addTokens(tokens) {
          // Into the window current now: a request that outlives its admission's window counts in the next one.
          windowOf(key, q.window_seconds).tokens += tokens;
        },
        release() {
          if (released) return;
          released = true;
          // A window that ended since is no longer counted; decrementing it changes nothing.
          w.requests--;
        },
      };
    },
  };
}

/** The log files of a home, oldest first (usage.log.N … usage.log.1, usage.log). */
export function usageLogFiles(home: string): string[] {
  const dir = join(home, "usage");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const rotated = names
    .map((n) => /^usage\.log\.(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]))
    .map((m) => join(dir, m[0]));
  return [...rotated, ...(names.includes("usage.log") ? [join(dir, "usage.log")] : [])];
}

export interface KeyUsageSummary {
  key: string;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  first: string;
  last: string;
}

/** `1h`, `30m`, `7d`, `90s` or an ISO date → epoch ms; RFX_VALIDATION otherwise. */
export function parseSince(since: string, now = Date.now()): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(since.trim());
  if (m) return now - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as "s" | "m" | "h" | "d"];
  // An ISO date (2026-01-01, 2026-01-01T08:00:00Z) or a year-month; Date.parse alone reads "0" as the year 2000.
  const t = /^\d{4}-\d{2}(-\d{2}([T ]\S+)?)?$/.test(since.trim()) ? Date.parse(since.trim()) : NaN;
  if (Number.isNaN(t))
    throw new ReflexiaError(
      "RFX_VALIDATION",
      /^\d+(\.\d+)?$/.test(since.trim())
        ? `--since ${since.trim()}: a duration needs its unit (30m, 24h, 7d; ${since.trim()}s for seconds)`
        : `--since ${JSON.stringify(since)}: expected 30m, 24h, 7d or an ISO date`,
    );
  return t;
}

/** Per key, from the usage logs of `home` (rotated ones included), for requests that ended at or after `sinceMs`. */
export function summarizeUsage(home: string, sinceMs = 0): KeyUsageSummary[] {
  const byKey = new Map<string, KeyUsageSummary>();
  for (const file of usageLogFiles(home)) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      if (!line) continue;
      let r: UsageRecord;
      try {
        r = JSON.parse(line) as UsageRecord;
      } catch {
        continue; // a line cut by a crash mid-write
      }
      if (typeof r.key !== "string" || !(Date.parse(r.ts) >= sinceMs)) continue;
      let s = byKey.get(r.key);
      if (!s)
        byKey.set(
          r.key,
          (s = { key: r.key, requests: 0, errors: 0, prompt_tokens: 0, completion_tokens: 0, first: r.ts, last: r.ts }),
        );
      s.requests++;
      if (r.status >= 400) s.errors++;
      s.prompt_tokens += r.prompt_tokens || 0;
      s.completion_tokens += r.completion_tokens || 0;
      if (r.ts < s.first) s.first = r.ts;
      if (r.ts > s.last) s.last = r.ts;
    }
  }
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
}
