import { describe, expect, it } from "vitest";
import { formatRow, TABLE_HEAD, type RagBenchmarkRow } from "./rag-bench.ts";

const stats = (p: number) => ({ p50: p, p95: p, cpuP95: p, preempted: 0 }) as unknown as RagBenchmarkRow["exact"];

const row = (defaultPath: RagBenchmarkRow["defaultPath"]): RagBenchmarkRow =>
  ({
    documents: 100,
    chunks: 120,
    ingestSeconds: 1,
    exact: stats(1),
    defaultPath,
    queryVector: stats(2),
    queryHybrid: stats(3),
    hitAt3: { vectorExact: 0.5, hybridExact: 0.75, vectorMemory: 0.25, hybridMemory: 1 },
    lancedb: { text: stats(1), queryVector: stats(1), queryHybrid: stats(1), rssDeltaBytes: 0 },
    memory: {
      state: "serving",
      buildSeconds: 0,
      bytes: 0,
      vectorBytes: 0,
      textBytes: 0,
      chunkBytes: 0,
      rssDeltaBytes: 0,
      scan: "int8",
      exact: stats(1),
      recallExact: 1,
      int8: stats(1),
      recallInt8: 1,
      text: stats(1),
    },
  }) as RagBenchmarkRow;

describe("rag benchmark table", () => {
  it("shows answer hit@3 (vector / hybrid) on the path the product searches, as README lists", () => {
    expect(TABLE_HEAD).toContain("hit@3 vec/hyb");
    expect(formatRow(row("memory")).endsWith("0.25 / 1.00")).toBe(true);
    expect(formatRow(row("exact")).endsWith("0.50 / 0.75")).toBe(true);
  });
});
