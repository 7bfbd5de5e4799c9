// The server's shutdown, as requests see it: aborted (with an RFX_NOT_READY reason) when the drain limit is reached,
// so running generations stop and open streams end with a final error event instead of being cut mid-line.
import type { FastifyInstance } from "fastify";
import { ReflexiaError } from "../errors/index.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** Aborted when the server stops waiting for in-flight requests (AppDeps.shutdown). */
    readonly shutdownSignal: AbortSignal;
  }
}

/** The reason the shutdown aborts with: what a request still running at the drain limit is told. */
export function shutdownReason(): ReflexiaError {
  return new ReflexiaError("RFX_NOT_READY", "the server shut down before this request finished; retry on another instance or after the restart", {
    retryAfterSeconds: 5,
  });
}

/** Makes `signal` (or one that never fires) the app's shutdownSignal. */
export function installShutdownSignal(app: FastifyInstance, signal: AbortSignal | undefined): void {
  app.decorate("shutdownSignal", signal ?? new AbortController().signal);
}
