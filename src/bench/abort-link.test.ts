import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { linkAbort, pause } from "./abort-link.ts";

describe("linkAbort and pause leave no listener on the long-lived signal", () => {
  it("a thousand released links and finished pauses: zero listeners, no MaxListeners warning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    const stop = new AbortController();
    try {
      for (let i = 0; i < 1000; i++) linkAbort(stop.signal).release();
      for (let i = 0; i < 20; i++) await pause(1, stop.signal);
      await new Promise((r) => setImmediate(r));
      expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });

  it("a link follows its parent's abort and reason; a pause ends early on abort", async () => {
    const stop = new AbortController();
    const link = linkAbort(stop.signal);
    const t0 = performance.now();
    const waiting = pause(60_000, stop.signal);
    stop.abort("enough");
    await waiting;
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(link.signal.aborted).toBe(true);
    expect(link.signal.reason).toBe("enough");
    expect(linkAbort(stop.signal).signal.aborted).toBe(true);
  });
});
