import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBenchmarkHistory, parseBenchmarkRun, type BenchmarkRunInput } from "./history.ts";
import { collectSystemInfo, parseCpuFlags, parseGgmlCpuVariant } from "./system-info.ts";

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "rfx-history-"));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const run = (over: Partial<BenchmarkRunInput> = {}): BenchmarkRunInput => ({
  kind: "inference",
  args: ["--test", "inference", "--quantization", "q4_0"],
  config: { threads: 2, engine: "native" },
  models: [{ ref: "reflexia-tiny:q4_0", digest: `sha256:${"a".repeat(64)}`, quantization: "q4_0", sizeBytes: 1234 }],
  result: { kind: "inference", variants: [{ quantization: "q4_0", tokensPerSecond: 100 }] },
  headline: "q4_0 100.0 tok/s",
  ...over,
});

describe("createBenchmarkHistory", () => {
  it("stores a run as <home>/benchmarks/<id>.json with system info and returns it whole by id", async () => {
    const h = createBenchmarkHistory({ home });
    const id = await h.save(run());
    expect(readdirSync(join(home, "benchmarks"))).toEqual([`${id}.json`]);
    const stored = JSON.parse(readFileSync(join(home, "benchmarks", `${id}.json`), "utf8"));
    expect(stored.system.nodeVersion).toBe(process.version);
    expect(stored.system.logicalCpus).toBeGreaterThan(0);
    expect(stored.system.totalMemoryBytes).toBeGreaterThan(0);
    const got = await h.get(id);
    expect(got).toMatchObject({
      id,
      kind: "inference",
      version: 1,
      args: run().args,
      config: run().config,
      models: run().models,
      result: run().result,
    });
    expect(Date.parse(got.createdAt)).not.toBeNaN();
  });

  it("lists summaries newest first and skips files that are not runs", async () => {
    const h = createBenchmarkHistory({ home });
    expect(await h.list()).toEqual([]); // no directory yet
    const old = await h.save(run({ createdAt: "2026-01-01T00:00:00.000Z", kind: "memory" }));
    const mid = await h.save(run({ createdAt: "2026-02-01T00:00:00.000Z" }));
    const recent = await h.save(run({ createdAt: "2026-03-01T00:00:00.000Z", kind: "rag", models: [] }));
    writeFileSync(join(h.dir, "broken.json"), "{not json");
    writeFileSync(join(h.dir, "foreign.json"), JSON.stringify({ hello: 1 }));
    const list = await h.list();
    expect(list.map((s) => s.id)).toEqual([recent, mid, old]);
    expect(list[1]).toMatchObject({ kind: "inference", models: ["reflexia-tiny:q4_0"], headline: "q4_0 100.0 tok/s" });
    expect(list[1]).not.toHaveProperty("result");
    expect(old.startsWith("20260101T000000000Z-memory-")).toBe(true);
  });

  it("refuses ids that could leave the directory, and says which id is missing", async () => {
    const h = createBenchmarkHistory({ home });
    await expect(h.get("../etc/passwd")).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    await expect(h.get("a/b")).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    await expect(h.get("")).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    const missing = h.get("20260101T000000000Z-inference-000000");
    await expect(missing).rejects.toMatchObject({ code: "RFX_NOT_FOUND" });
    // The server answers GET /api/benchmarks/:id with this message: it names no path of the server's.
    const message = ((await missing.catch((e: Error) => e)) as Error).message;
    expect(message).toBe(
      "no benchmark run 20260101T000000000Z-inference-000000 (`reflexia benchmark history` lists them)",
    );
    expect(message).not.toContain(home);
    await expect(h.save({ ...run(), kind: "" })).rejects.toMatchObject({ code: "RFX_VALIDATION" });
  });

  it("parseBenchmarkRun names what is wrong with a file that is not a run", () => {
    expect(() => parseBenchmarkRun({ version: 99 }, "a.json")).toThrow(/a\.json.*version 99/);
    expect(() => parseBenchmarkRun([], "b.json")).toThrow(/not a JSON object/);
  });
});

describe("system info", () => {
  it("keeps only the SIMD flags ggml's kernels depend on, x86 and ARM", () => {
    expect(parseCpuFlags("processor : 0\nflags\t\t: fpu sse4_2 avx avx2 fma f16c avx512f avx512_vnni ht\n")).toEqual([
      "sse4_2",
      "avx",
      "f16c",
      "fma",
      "avx2",
      "avx512f",
      "avx512_vnni",
    ]);
    expect(parseCpuFlags("Features\t: fp asimd asimddp sve i8mm\n")).toEqual(["asimd", "asimddp", "i8mm", "sve"]);
    expect(parseCpuFlags("")).toEqual([]);
  });

  it("reads ggml's CPU variant from the mapped libraries", () => {
    expect(parseGgmlCpuVariant("7f00-7f01 r-xp 0 fd:01 1 /x/bins/linux-x64/libggml-cpu-zen4.so\n")).toBe("zen4");
    expect(parseGgmlCpuVariant("7f00-7f01 r-xp 0 fd:01 1 /usr/lib/libc.so.6\n")).toBeUndefined();
  });

  it("collects this machine's facts", () => {
    const s = collectSystemInfo();
    expect(s.availableCpus).toBeGreaterThan(0);
    expect(s.availableCpus).toBeLessThanOrEqual(s.logicalCpus);
    expect(s.os).toContain(process.platform);
  });
});
