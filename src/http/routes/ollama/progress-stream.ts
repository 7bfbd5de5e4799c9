// Ollama's long operations (pull, create) as NDJSON progress objects: what can be refused is refused with its
// status before the stream opens; later failures end it with Ollama's one {"error": "…"} line.
import { PassThrough } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ReflexiaError } from "../../../errors/index.ts";
import { ollamaErrorBody, toHttpError } from "../../error-handler.ts";
import { endStreamOnShutdown } from "../../shutdown-signal.ts";
import { clientAbortSignal } from "../../streaming.ts";

export type ProgressObject = Record<string, unknown> & { status: string };

export interface ProgressRun {
  /** Emits one progress object. */
  emit(p: ProgressObject): void;
  /** Aborted when the client goes away or the server's drain limit is reached. */
  signal: AbortSignal;
}

const line = (x: unknown): string => `${JSON.stringify(x)}\n`;

/**
 * Runs `work`. Streamed: progress objects are held until `opens(p)` says one may go out (e.g. once the manifest
 * is known), so early failures still get their HTTP status; then each is a line, `{"status":"success"}` last.
 * Not streamed: `{"status":"success"}` once done, or the error with its status.
 */
export async function respondWithProgress(
  request: FastifyRequest,
  reply: FastifyReply,
  stream: boolean,
  work: (run: ProgressRun) => Promise<void>,
  opens: (p: ProgressObject) => boolean = () => true,
): Promise<unknown> {
  const signal = clientAbortSignal(request, reply);
  if (!stream) {
    await work({ emit: () => {}, signal });
    return reply.send({ status: "success" });
  }
  let out: PassThrough | null = null;
  const held: ProgressObject[] = [];
  let markOpen!: () => void;
  const opened = new Promise<void>((r) => (markOpen = r));
  const open = (): void => {
    out = new PassThrough();
    out.on("error", () => {});
    reply.type("application/x-ndjson").header("cache-control", "no-cache").send(out);
    endStreamOnShutdown(request.server, out, (e: ReflexiaError) => line(ollamaErrorBody(e)));
    for (const p of held.splice(0)) out.write(line(p));
    markOpen();
  };
  const write = (p: ProgressObject): void => {
    if (!out) {
      held.push(p);
      if (opens(p)) open();
    } else if (!out.writableEnded) out.write(line(p));
  };
  const done = work({ emit: write, signal }).then(
    () => {
      if (!out) open();
      if (!out!.writableEnded) out!.end(line({ status: "success" }));
    },
    (e: unknown) => {
      if (!out) throw e;
      if (!out.writableEnded) out.end(line(ollamaErrorBody(toHttpError(e))));
    },
  );
  await Promise.race([opened, done]);
  done.catch(() => {});
  return reply;
}
