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

  const refusal = (f: () => unknown): ReflexiaError | undefined => {
    try {
      f();
    } catch (err) {
      return err as ReflexiaError;
    }
  };
  const CHAT = true; // a route that runs a model

  it("refuses a key past its token quota until the window ends, with Retry-After", () => {
    let t = 3_600_000 * 10 + 1000;
    const { ledger } = setup({ "auth.quotas": [{ key: "c", tokens: 10, window_seconds: 3600 }] }, () => t);
    ledger.admit("c", CHAT)!.addTokens(10);
    const e = refusal(() => ledger.admit("c", CHAT));
    expect(e?.code).toBe("RFX_QUOTA_EXCEEDED");
    expect(e?.message).toContain("used 10 of 10 tokens");
    expect(e?.details?.retryAfterSeconds).toBe(3599);
    expect(ledger.admit("other", CHAT)).toBeUndefined();
    t += 3600_000;
    expect(ledger.admit("c", CHAT)).toBeDefined();
  });

  it("reserves a request at admission: 8 admissions at once pass a quota of 3 exactly 3 times", () => {
    const { ledger } = setup({ "auth.quotas": [{ key: "bob", requests: 3, window_seconds: 120 }] });
    // No record() between them: all eight are in flight together.
    const outcomes = Array.from({ length: 8 }, () => refusal(() => ledger.admit("bob", CHAT)));
    expect(outcomes.filter((e) => e === undefined)).toHaveLength(3);
    expect(outcomes.filter((e) => e?.code === "RFX_QUOTA_EXCEEDED")).toHaveLength(5);
    // The refusals reserved nothing: the count stays at the quota.
    expect(refusal(() => ledger.admit("bob", CHAT))?.message).toContain("used 3 of 3 requests");
  });

  it("gives a released request back (once), and counts tokens of requests still in flight", () => {
    const { ledger } = setup({ "auth.quotas": [{ key: "bob", requests: 2, tokens: 100, window_seconds: 120 }] });
    const a = ledger.admit("bob", CHAT)!;
    const b = ledger.admit("bob", true)!;
    expect(refusal(() => ledger.admit("bob", CHAT))?.code).toBe("RFX_QUOTA_EXCEEDED");
    // a failed before running a model (a 400, say): its request is free again, whatever else calls release.
    a.release();
    a.release();
    const c = ledger.admit("bob", CHAT)!;
    expect(refusal(() => ledger.admit("bob", CHAT))?.message).toContain("used 2 of 2 requests");
    c.release();
    // b has not ended, but the tokens its generation reported already count.
    b.addTokens(100);
    expect(refusal(() => ledger.admit("bob", CHAT))?.message).toContain("used 100 of 100 tokens");
  });

  it("routes that run no model are neither counted nor refused", () => {
    const { ledger } = setup({ "auth.quotas": [{ key: "bob", requests: 1, window_seconds: 120 }] });
    for (let i = 0; i < 3; i++) expect(ledger.admit("bob", false)).toBeUndefined();
    ledger.admit("bob", true);
    expect(ledger.admit("bob", false)).toBeUndefined();
    expect(refusal(() => ledger.admit("bob", true))?.code).toBe("RFX_QUOTA_EXCEEDED");
  });

  it("record() only logs: the quota counts admissions, not finished requests", () => {
    const { ledger } = setup({ "auth.quotas": [{ key: "bob", requests: 1, window_seconds: 120 }] });
    for (let i = 0; i < 3; i++) ledger.record({ ...entry("bob", 5, 5, 429), route: "/api/tags" });
    expect(ledger.admit("bob", CHAT)).toBeDefined();
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
