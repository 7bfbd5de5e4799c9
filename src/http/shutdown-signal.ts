// The server's shutdown, as requests see it: aborted (with an RFX_NOT_READY reason) when the drain limit is reached,
// so running generations stop and open streams end with a final error event instead of being cut mid-line.
import { setMaxListeners } from "node:events";
import type { Writable } from "node:stream";
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
  return new ReflexiaError(
    "RFX_NOT_READY",
    "the server shut down before this request finished; retry on another instance or after the restart",
    {
      retryAfterSeconds: 5,
    },
  );
}

/** Makes `signal` (or one that never fires) the app's shutdownSignal. */
export function installShutdownSignal(app: FastifyInstance, signal: AbortSignal | undefined): void {
  const s = signal ?? new AbortController().signal;
  // One listener per request in flight (each removed when its request ends): bounded by the queue, and well past
  // the 10 after which Node would warn of a leak.
  setMaxListeners(0, s);
  app.decorate("shutdownSignal", s);
}

/**
 * For progress streams that are not generations (model create/quantize): at the drain limit, write `last` with the
 * shutdown's reason and end the stream, rather than leave the client with a cut connection. Detaches when the
 * stream closes.
 */
export function endStreamOnShutdown(
  app: FastifyInstance,
  stream: Writable,
  last: (reason: ReflexiaError) => string,
): void {
  const signal = app.shutdownSignal;
  const onShutdown = (): void => {
    if (!stream.writableEnded && !stream.destroyed)
      stream.end(last(signal.reason instanceof ReflexiaError ? signal.reason : shutdownReason()));
  };
  if (signal.aborted) return onShutdown();
  signal.addEventListener("abort", onShutdown, { once: true });
  stream.once("close", () => signal.removeEventListener("abort", onShutdown));
}
