import { getEventListeners } from "node:events";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { clientAbortSignal } from "./streaming.ts";
import { installShutdownSignal, shutdownReason } from "./shutdown-signal.ts";

describe("the shutdown signal as requests see it", () => {
  it("takes one listener per request in flight without a leak warning, drops it when the request ends, and aborts them with its reason", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    const shutdown = new AbortController();
    const app = Fastify();
    installShutdownSignal(app, shutdown.signal);
    const signals: AbortSignal[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    app.get("/slow", async (request, reply) => {
      signals.push(clientAbortSignal(request, reply));
      await gate;
      return { ok: true };
    });
    let seen: AbortSignal | undefined;
    app.get("/held", async (request, reply) => {
      seen = clientAbortSignal(request, reply);
      await new Promise<void>((r) => seen!.addEventListener("abort", () => r(), { once: true }));
      return { aborted: true };
    });
    try {
      const pending = Array.from({ length: 30 }, () => app.inject({ url: "/slow" }));
      while (signals.length < 30) await new Promise((r) => setTimeout(r, 5));
      expect(getEventListeners(shutdown.signal, "abort").length).toBe(30);
      release();
      await Promise.all(pending);
      expect(getEventListeners(shutdown.signal, "abort").length).toBe(0);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).not.toContain("MaxListenersExceededWarning");

    // A request still running when the shutdown fires is aborted with the shutdown's own reason.
    const held = app.inject({ url: "/held" });
    while (!seen) await new Promise((r) => setTimeout(r, 5));
    const reason = shutdownReason();
    shutdown.abort(reason);
    await held;
    expect(seen.reason).toBe(reason);
    expect(reason.code).toBe("RFX_NOT_READY");
    await app.close();
  });
});
