// threadCpuMs reads this process's threads; splitThreadCpu tells busy threads from the rest.
import { describe, expect, it } from "vitest";
import { splitThreadCpu, threadCpuMs } from "./thread-cpu.ts";

describe("threadCpuMs", () => {
  it("sees this process's main thread use CPU while it computes", () => {
    const before = threadCpuMs(process.pid);
    if (before === null) return; // not Linux
    const end = performance.now() + 150;
    let x = 0;
    while (performance.now() < end) x += Math.sqrt(x + 1);
    const after = threadCpuMs(process.pid)!;
    expect(x).toBeGreaterThan(0);
    expect(after.get(process.pid)! - before.get(process.pid)!).toBeGreaterThanOrEqual(100);
  });

  it("is null for no process", () => {
    expect(threadCpuMs(undefined)).toBeNull();
    expect(threadCpuMs(2 ** 30)).toBeNull();
  });
});

describe("splitThreadCpu", () => {
  it("counts threads busy more than half the wall time as decode threads, the rest as the front", () => {
    const before = new Map([
      [1, 100],
      [2, 0],
      [3, 50],
    ]);
    const after = new Map([
      [1, 700],
      [2, 900],
      [3, 80],
      [4, 20],
    ]);
    expect(splitThreadCpu(before, after, 1000)).toEqual({ decodeMs: 600 + 900, frontMs: 30 + 20 });
  });
});
