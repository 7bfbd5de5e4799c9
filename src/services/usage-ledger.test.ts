// The usage ledger on a real home: the log's lines and rotation, quotas per fixed window, the bounded key labels,
// and the summary `reflexia usage` prints.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { createMetrics } from "../metrics/index.ts";
import { createUsageLedger, parseSince, summarizeUsage, usageLogFiles } from "./usage-ledger.ts";

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});
function setup(overrides: Record<string, unknown> = {}, now = () => 1_000_000) {
  const home = mkdtempSync(join(tmpdir(), "rfx-usage-"));
  homes.push(home);
  const { config } = loadConfig({ env: {}, overrides: { home, ...overrides } });
  const metrics = createMetrics({ defaultMetrics: false });
  return { home, metrics, ledger: createUsageLedger({ config, metrics: metrics.usage, now }) };
}
const entry = (key: string, p: number, c: number, status = 200) => ({
  key,
  method: "POST",
  route: "/v1/chat/completions",
  status,
  prompt_tokens: p,
  completion_tokens: c,
});

describe("usage ledger", () => {
  it("appends one line per request and sums them per key", () => {
    const { home, ledger, metrics } = setup();
    ledger.record(entry("alice", 10, 5));
    ledger.record(entry("alice", 3, 2, 500));
    ledger.record(entry("bob", 1, 1));
    expect(readFileSync(ledger.logPath, "utf8").trim().split("\n")).toHaveLength(3);
    expect(summarizeUsage(home)).toEqual([
      expect.objectContaining({ key: "alice", requests: 2, errors: 1, prompt_tokens: 13, completion_tokens: 7 }),
      expect.objectContaining({ key: "bob", requests: 1, errors: 0, prompt_tokens: 1, completion_tokens: 1 }),
    ]);
    expect(summarizeUsage(home, 2_000_000)).toEqual([]);
    return metrics.registry.getSingleMetricAsString("reflexia_tokens_total").then((t) => {
      expect(t).toContain('reflexia_tokens_total{key="alice",type="prompt"} 13');
    });
  });

  it("rotates past usage.log_max_bytes and keeps usage.log_keep_files, all counted by the summary", () => {
    const { home, ledger } = setup({ "usage.log_max_bytes": 1024, "usage.log_keep_files": 2 });
    for (let i = 0; i < 40; i++) ledger.record(entry("k", 1, 1));
    const files = usageLogFiles(home);
    expect(files.map((f) => f.split("/").pop())).toEqual(["usage.log.2", "usage.log.1", "usage.log"]);
    expect(existsSync(`${ledger.logPath}.3`)).toBe(false);
    const kept = summarizeUsage(home)[0].requests;
    expect(kept).toBeGreaterThan(10);
    expect(kept).toBeLessThan(40);
  });

  it("refuses a key past its quota until the window ends, with Retry-After", () => {
    let t = 3_600_000 * 10 + 1000;
    const { ledger } = setup({ "auth.quotas": [{ key: "c", tokens: 10, window_seconds: 3600 }] }, () => t);
    ledger.checkQuota("c");
    ledger.record(entry("c", 6, 4));
    const e = (() => {
      try {
        ledger.checkQuota("c");
      } catch (err) {
        return err as ReflexiaError;
      }
    })();
    expect(e?.code).toBe("RFX_QUOTA_EXCEEDED");
    expect(e?.details?.retryAfterSeconds).toBe(3599);
    ledger.checkQuota("other");
    t += 3600_000;
    expect(() => ledger.checkQuota("c")).not.toThrow();
  });

  it("bounds the key label set", async () => {
    const { ledger, metrics } = setup({ "usage.max_key_labels": 2 });
    for (const k of ["a", "b", "c", "d"]) ledger.record(entry(k, 1, 0));
    const text = await metrics.registry.getSingleMetricAsString("reflexia_key_requests_total");
    expect(text).toContain('reflexia_key_requests_total{key="other"} 2');
    expect(text).not.toContain('key="c"');
  });

  it("parses --since", () => {
    expect(parseSince("2h", 10_000_000)).toBe(10_000_000 - 7_200_000);
    expect(parseSince("2026-01-01T00:00:00Z")).toBe(Date.parse("2026-01-01T00:00:00Z"));
    expect(() => parseSince("yesterday")).toThrow(/--since/);
    expect(parseSince("2026-03-04")).toBe(Date.parse("2026-03-04"));
    // A bare number is no date (Date.parse reads "0" as the year 2000): it lacks its unit.
    expect(() => parseSince("0")).toThrow("--since 0: a duration needs its unit (30m, 24h, 7d; 0s for seconds)");
    expect(() => parseSince("March 7")).toThrow(/expected 30m, 24h, 7d or an ISO date/);
  });
});
