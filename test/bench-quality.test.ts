// The quality benchmark end to end on the tiny synthetic family: the CLI's JSON against the schema in the repo,
// KL of the reference against itself and of q4_0 against it, the figures stored with the model (`models show`),
// the run stored in the history and compared with itself.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/run-cli.ts";
import { isValidFor } from "./support/json-schema-check.ts";

const ROOT = join(import.meta.dirname, "..");
const SCHEMA = JSON.parse(readFileSync(join(ROOT, "src", "bench", "quality-result.schema.json"), "utf8"));
let home: string;

const cli = (args: string[]) => runCli(home, args);

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "rfx-quality-"));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("reflexia benchmark --test quality", () => {
  it("measures each variant against f16 on the shipped text, stores the figures and the run", async () => {
    const r = await cli(["benchmark", "--test", "quality", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(isValidFor(SCHEMA, out)).toBe(true);
    // The schema has teeth: a result missing a figure or with an out-of-range one is refused.
    const broken = structuredClone(out);
    delete broken.variants[0].kl;
    expect(isValidFor(SCHEMA, broken)).toBe(false);
    expect(isValidFor(SCHEMA, { ...out, variants: [{ ...out.variants[0], top1Agreement: 1.5 }] })).toBe(false);

    expect(out.base.quantization).toBe("f16");
    const by = Object.fromEntries(out.variants.map((v: { quantization: string }) => [v.quantization, v]));
    expect(Object.keys(by).sort()).toEqual(["f16", "q4_0", "q8_0"]);
    // The reference evaluated again gives the same logits: KL 0, full agreement, the same continuations.
    expect(by.f16.kl.mean).toBe(0);
    expect(by.f16.kl.max).toBe(0);
    expect(by.f16.top1Agreement).toBe(1);
    expect(by.f16.lnPerplexityRatio).toBe(0);
    // 4-bit weights move the distributions, more than 8-bit ones do.
    expect(by.q4_0.kl.mean).toBeGreaterThan(0);
    expect(by.q4_0.kl.p99).toBeGreaterThanOrEqual(by.q4_0.kl.median);
    expect(by.q4_0.kl.mean).toBeGreaterThan(by.q8_0.kl.mean);
    expect(by.q4_0.top1Agreement).toBeLessThan(1);
    expect(out.scoredTokens).toBe(out.chunks * (out.chunkSize - 1 - out.chunkSize / 2));

    const show = await cli(["models", "show", "reflexia-tiny:q4_0", "--json"]);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout).quality).toMatchObject({
      reference: "reflexia-tiny:f16",
      top1Agreement: by.q4_0.top1Agreement,
      klMean: by.q4_0.kl.mean,
    });
    const shown = await cli(["models", "show", "reflexia-tiny:q8_0"]);
    expect(shown.stdout).toMatch(/Quality\s+vs reflexia-tiny:f16: top-1 agreement 0\.\d{3}/);

    const list = JSON.parse((await cli(["benchmark", "history", "--json"])).stdout);
    expect(list.map((x: { id: string }) => x.id)).toContain(out.runId);
    const cmp = await cli(["benchmark", "--compare", out.runId, out.runId, "--json"]);
    expect(cmp.code, cmp.stderr).toBe(0);
    const c = JSON.parse(cmp.stdout);
    expect(c).toMatchObject({ sameMachine: true, sameModels: true, sameConfig: true });
    expect(c.changes.length).toBeGreaterThan(0);
    expect(c.changes.every((x: { verdict: string }) => x.verdict === "within noise")).toBe(true);
    const bad = await cli(["benchmark", "--compare", out.runId]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--compare takes two runs");
  });
});
