// Streaming responses (SSE and NDJSON) over a running inference: headers go out once a sequence is held (on a
// remote variant, once its first piece arrived), so errors before that (queue full, unknown model, no upstream
// endpoint left) still get their status; errors after it end the stream.
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ReflexiaError } from "../errors/index.ts";
import type { InferenceHooks, ReflexiaMeta } from "../services/inference-service.ts";
import { toHttpError } from "./error-handler.ts";
import "./shutdown-signal.ts";

/** The request each clientAbortSignal belongs to: how per-key accounting finds the request an inference ran for. */
const requestOfSignal = new WeakMap<AbortSignal, FastifyRequest>();

/** The request whose clientAbortSignal this is (undefined for signals made elsewhere). */
export function requestOf(signal: AbortSignal | undefined): FastifyRequest | undefined {
  return signal ? requestOfSignal.get(signal) : undefined;
}

/**
 * Aborts when the client goes away before the response finished (frees the sequence or leaves the queue), or
 * when the server's shutdown reaches its drain limit (with the shutdown's reason, so the client is told why).
 */
export function clientAbortSignal(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  requestOfSignal.set(ac.signal, request);
  const shutdown = request.server.shutdownSignal;
  const onShutdown = (): void => ac.abort(shutdown.reason);
  const onClose = (): void => {
    shutdown.removeEventListener("abort", onShutdown);
    if (!reply.raw.writableFinished) ac.abort();
  };
  reply.raw.once("close", onClose);
  request.raw.once("aborted", onClose);
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener("abort", onShutdown, { once: true });
  return ac.signal;
}

/** Headers that say which variant served the request (set on streamed and buffered responses alike). */
export function reflexiaHeaders(meta: ReflexiaMeta): Record<string, string> {
  return {
    "x-reflexia-quantization": meta.quantization,
    "x-reflexia-variant": meta.variant,
    "x-reflexia-reason": meta.reason,
    "x-reflexia-cache": meta.cache,
  };
}

export interface StreamFormat<T> {
  contentType: string;
  /** Written right after the headers (e.g. the assistant-role delta). */
  start?(meta: ReflexiaMeta): string | null;
  text(text: string, meta: ReflexiaMeta): string;
  done(outcome: T, meta: ReflexiaMeta): string;
  /** The final event of a stream that failed after it opened (also sent when the server shuts down under it). */
  error(error: ReflexiaError): string;
}

/**
 * Runs `run` with hooks that open the stream on start and write each text piece. Resolves once the stream is
 * open (the route returns the reply) or rejects with the error that prevented it from opening.
 *
 * A remote variant's stream opens with its first piece (or its end, when no text came), not when its slot is held:
 * until then a failure is retried on another endpoint (or, untagged, on another variant) and, when none is left, is a
 * status of its own (503 RFX_UPSTREAM_UNAVAILABLE with Retry-After, 502 RFX_UPSTREAM_ERROR) in the route's error
 * shape, as a buffered request's is. The first piece goes out in the same write turn as the headers, so the time to
 * the first token is unchanged.
 *
 * Once open, the response is written directly (reply.hijack()): one res.write per piece, where a piped stream cost
 * a transform, a readable push and a 'data' event per token on the thread the decode loop shares its cores with.
 * The headers fastify's hooks set on the reply (security, CORS, rate limit) go out with it; onResponse hooks (request
 * metrics, usage per key, the log's "request completed") still run when the response finishes.
 */
export async function streamInference<T>(
  reply: FastifyReply,
  format: StreamFormat<T>,
  run: (hooks: InferenceHooks) => Promise<T>,
): Promise<FastifyReply> {
  let stream: ServerResponse | null = null;
  let meta: ReflexiaMeta | null = null;
  /** Set once `run` failed before the stream opened: its error is the response; later hooks are dropped. */
  let refused = false;
  let markStarted!: () => void;
  const started = new Promise<void>((r) => (markStarted = r));
  const write = (s: string | null): void => {
    if (s && stream && !stream.destroyed && !stream.writableEnded) stream.write(s);
  };
  /** Writes the last event once and ends the stream; whatever the generation does afterwards is dropped. */
  const finish = (last: string): void => {
    write(last);
    stream?.end();
  };
  // At the drain limit the stream ends with an error event at once, whether or not the engine has stopped yet.
  const shutdown = reply.request.server.shutdownSignal;
  const onShutdown = (): void => {
    if (stream) finish(format.error(toHttpError(shutdown.reason)));
  };
  shutdown.addEventListener("abort", onShutdown, { once: true });
  const open = (m: ReflexiaMeta): void => {
    if (stream || refused) return;
    meta = m;
    const headers: OutgoingHttpHeaders = {
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      ...reflexiaHeaders(m),
      "content-type": format.contentType,
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    };
    reply.hijack();
    stream = reply.raw;
    // A client that disconnects destroys the socket; a late write must not become an unhandled 'error'.
    stream.on("error", () => {});
    stream.once("close", () => shutdown.removeEventListener("abort", onShutdown));
    stream.writeHead(200, headers);
    write(format.start?.(m) ?? null);
    markStarted();
  };
  const work = run({
    onStart: (m) => {
      // A remote variant's headers wait for its first piece (a later onStart, e.g. a fallback variant, replaces m).
      if (m.kind === "remote" && !stream) meta = m;
      else open(m);
    },
    onText: (t) => {
      if (!meta) return;
      open(meta);
      write(format.text(t, meta));
    },
  }).then(
    (outcome) => {
      if (!meta) return;
      open(meta);
      finish(format.done(outcome, meta));
    },
    (err) => {
      if (!stream) {
        refused = true;
        throw err;
      }
      finish(format.error(toHttpError(err)));
    },
  );
  await Promise.race([started, work]).finally(() => {
    if (!stream) shutdown.removeEventListener("abort", onShutdown);
  });
  work.catch(() => {});
  if (!stream) throw new ReflexiaError("RFX_INTERNAL", "the generation ended before it started");
  return reply;
}
