import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModelStore, type ModelStore } from "../registry/index.ts";
import { prepareBenchmarkVariants } from "./bench-variants.ts";

let home: string;
let store: ModelStore;
beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "rfx-bench-variants-"));
  store = createModelStore({ home });
  await store.synth({ shape: "tiny", quant: ["q4_0", "f16"], name: "t" });
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const tags = async (name: string) => (await store.variants(name)).map((v) => v.tag).sort();

describe("prepareBenchmarkVariants", () => {
  it("quantizes the variants --quantization names that are missing, and removes only those afterwards", async () => {
    const lines: string[] = [];
    const v = await prepareBenchmarkVariants({
      store,
      defaultModel: "t",
      quantizations: ["q4_0", "q8_0", "f16"],
      log: (l) => lines.push(l),
    });
    expect(v.refs).toEqual(["t:q4_0", "t:q8_0", "t:f16"]);
    expect(v.created).toEqual(["t:q8_0"]);
    expect(lines[0]).toBe("quantizing t: q8_0 (for this run)");
    expect(await tags("t")).toEqual(["f16", "q4_0", "q8_0"]);
    await v.removeCreated();
    expect(await tags("t")).toEqual(["f16", "q4_0"]);
  });

  it("synthesizes a --shape model with the variants asked for, with progress", async () => {
    const lines: string[] = [];
    const v = await prepareBenchmarkVariants({
      store,
      defaultModel: "t",
      shape: "tiny",
      quantizations: ["q4_0", "q5_k_m"],
      log: (l) => lines.push(l),
    });
    expect(v.refs).toEqual(["bench-tiny:q4_0", "bench-tiny:q5_k_m"]);
    expect(v.created.sort()).toEqual(["bench-tiny:q4_0", "bench-tiny:q5_k_m"]);
    expect(lines.some((l) => /^bench-tiny: write \d+%$/.test(l))).toBe(true);
    await v.removeCreated();
    expect(await store.variants("bench-tiny")).toEqual([]);
  });

  it("refuses what it cannot honour, by flag", async () => {
    await expect(prepareBenchmarkVariants({ store, defaultModel: "t", quantizations: ["q3"] })).rejects.toThrow(
      /--quantization: unknown quantization "q3"/,
    );
    await expect(prepareBenchmarkVariants({ store, defaultModel: "t", shape: "9b" })).rejects.toThrow(
      /--shape: unknown shape "9b"/,
    );
    await expect(
      prepareBenchmarkVariants({ store, defaultModel: "t", model: "t:q4_0", quantizations: ["q4_0"] }),
    ).rejects.toThrow(/needs a bare model name/);
    await expect(prepareBenchmarkVariants({ store, defaultModel: "t" })).rejects.toThrow(/lacks q8_0/);
  });
});
