// A remote variant as a LoadedModel: each generation is a streamed OpenAI-compatible request to one endpoint of
// the pool, retried on another endpoint while nothing has reached the client yet.
import type { IncomingMessage } from "node:http";
import type {
  ChatMessage,
  FinishReason,
  GenerateOptions,
  GenerationResult,
  LoadedModel,
  ModelInfo,
  TokenLogprob,
} from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import type { EndpointLease, EndpointPool } from "./endpoint-pool.ts";
import { PostError, postStream, readText } from "./post-stream.ts";
import { SseParser } from "./sse.ts";
import type { UpstreamErrorKind, UpstreamMetricsSink } from "./types.ts";

export interface RemoteModelOptions {
  /** `remote://name:tag`: what the scheduler shows as the variant's path. */
  path: string;
  upstreamModel: string;
  pool: EndpointPool;
  apiKey?: string;
  timeoutMs: number;
  requestTimeoutMs: number;
  /** Requests this variant may run at once (endpoints × cap): the scheduler's parallelism for it. */
  parallel: number;
  /** Context tokens per request reported to callers (RAG's budget); the upstream enforces its own. */
  contextSize: number;
  /** Added to every upstream body (RemoteSpec.extraBody). */
  extraBody?: Record<string, unknown>;
  metrics?: UpstreamMetricsSink;
}

/** An attempt failed; `kind` says whether the endpoint is to blame and `retryable` whether another may try. */
class AttemptError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** How long the body may stay open after [DONE] before its connection is dropped. */
const DONE_DRAIN_MS = 1000;

const PIECES = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;

/**
 * Token count estimate for budgets that must be computed here (RAG's context share): about one token per 4
 * characters of a word, one per punctuation mark. The usage a request reports comes from the upstream instead.
 */
export function estimateTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(PIECES)) n += Math.max(1, Math.ceil(m[0].length / 4));
  return n;
}

function samplingBody(o: GenerateOptions): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (o.maxTokens !== undefined) b.max_tokens = o.maxTokens;
  if (o.temperature !== undefined) b.temperature = o.temperature;
  if (o.topP !== undefined) b.top_p = o.topP;
  // top_k and repeat_penalty are llama.cpp/vLLM extensions: sent only when the request set them.
  if (o.topK !== undefined) b.top_k = o.topK;
  if (o.repeatPenalty !== undefined) b.repeat_penalty = o.repeatPenalty;
  if (o.frequencyPenalty !== undefined) b.frequency_penalty = o.frequencyPenalty;
  if (o.presencePenalty !== undefined) b.presence_penalty = o.presencePenalty;
  if (o.logitBias?.length) b.logit_bias = Object.fromEntries(o.logitBias.map(([id, v]) => [String(id), v]));
  if (o.seed !== undefined) b.seed = o.seed;
  if (o.stop && o.stop.length) b.stop = o.stop;
  return b;
}

type Route = "chat/completions" | "completions";

/** One message in OpenAI's shape, with the calls an assistant made and the call a tool message answers. */
function upstreamMessage(m: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.content };
  if (m.toolCalls?.length)
    out.tool_calls = m.toolCalls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: JSON.stringify(c.arguments) },
    }));
  if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
  if (m.role === "tool" && m.name !== undefined) out.name = m.name;
  return out;
}

/** An upstream event's log-probabilities (chat's `content` list or the completions API's parallel arrays). */
interface UpstreamLogprobs {
  content?:
    | {
        token: string;
        logprob: number;
        bytes?: number[] | null;
        top_logprobs?: { token: string; logprob: number; bytes?: number[] | null }[];
      }[]
    | null;
  tokens?: string[];
  token_logprobs?: number[];
  top_logprobs?: (Record<string, number> | null)[];
}

function logprobsOf(l: UpstreamLogprobs | null | undefined): TokenLogprob[] | undefined {
  if (!l) return undefined;
  if (l.content)
    // The upstream's bytes are the token's own (a part of a character shows U+FFFD in `token`): kept.
    return l.content.map((e) => ({
      token: e.token,
      ...(e.bytes ? { bytes: e.bytes } : {}),
      logprob: e.logprob,
      top: (e.top_logprobs ?? []).map((t) => ({
        token: t.token,
        ...(t.bytes ? { bytes: t.bytes } : {}),
        logprob: t.logprob,
      })),
    }));
  if (l.tokens && l.token_logprobs)
    return l.tokens.map((token, i) => ({
      token,
      logprob: l.token_logprobs![i],
      top: Object.entries(l.top_logprobs?.[i] ?? {}).map(([t, logprob]) => ({ token: t, logprob })),
    }));
  return undefined;
}

/**
 * A call the upstream made, in the text form the routes' tool-call parser reads (Hermes' `<tool_call>{…}</tool_call>`),
 * so a remote variant's calls reach every API (OpenAI, Ollama, Responses) and the response cache as a local one's do.
 */
function callText(name: string, args: string): string {
  let parsed: unknown = args;
  try {
    parsed = args.trim() === "" ? {} : JSON.parse(args);
  } catch {
    // Arguments that are not JSON stay a string: the parser then leaves the call as content.
  }
  return `<tool_call>${JSON.stringify({ name, arguments: parsed })}</tool_call>`;
}

export function createRemoteModel(options: RemoteModelOptions): LoadedModel {
  const { pool, metrics } = options;
  let active = 0;
  const info: ModelInfo = {
    architecture: "remote",
    parameterCount: 0,
    trainContextSize: options.contextSize,
    fileType: "remote",
    sizeBytes: 0,
    embeddingSize: 0,
    vocabSize: 0,
  };

  async function attempt(
    lease: EndpointLease,
    route: Route,
    body: Record<string, unknown>,
    opts: GenerateOptions,
    t0: number,
    emitted: { any: boolean },
  ): Promise<GenerationResult> {
    const ctl = new AbortController();
    let timedOut = false;
    const onAbort = (): void => ctl.abort(opts.signal?.reason);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const firstByte = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, options.timeoutMs);
    const whole = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, options.requestTimeoutMs);
    const started = performance.now();
    let ttft: number | undefined;
    let last = 0;
    const interTokenMs: number[] = [];
    let text = "";
    const logprobs: TokenLogprob[] = [];
    const calls: { name: string; args: string }[] = [];
    let finish: FinishReason = "stop";
    let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
    let chunks = 0;
    let complete = false;
    let res: IncomingMessage | undefined;
    let stopBody: (() => void) | undefined;
    try {
      try {
        res = await postStream(
          `${lease.url}/${route}`,
          JSON.stringify(body),
          {
            accept: "text/event-stream",
            ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          ctl.signal,
        );
      } catch (e) {
        if (opts.signal?.aborted) throw new AttemptError("cancelled", "cancelled", false);
        if (timedOut) throw new AttemptError("timeout", "no answer in time", true);
        // Closed before any response (a kept-alive socket the server had let go, or a server shedding connections):
        // retried on the same endpoint. A refused connection (ECONNREFUSED) says the endpoint is down.
        const failure = e instanceof PostError ? e.failure : "connect";
        throw new AttemptError(failure === "reset" ? "reset" : "connect", (e as Error).message, true);
      }
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        const detail = await readText(res, 500);
        const kind = status >= 500 ? "http_5xx" : "http_4xx";
        throw new AttemptError(kind, `HTTP ${status}${detail ? `: ${detail}` : ""}`, status >= 500, status);
      }
      res.setEncoding("utf8");
      // From here a timeout or the client going away ends the response itself; its errors surface in the loop.
      const answer = res;
      stopBody = (): void => {
        answer.destroy();
      };
      if (ctl.signal.aborted) stopBody();
      else ctl.signal.addEventListener("abort", stopBody, { once: true });
      res.on("error", () => {});
      // One event, as the upstream sent it (JSON of a chat or completions chunk).
      const handle = (data: string): void => {
        let chunk: {
          choices?: {
            delta?: {
              content?: string | null;
              tool_calls?: { index?: number; function?: { name?: string; arguments?: string } }[];
            };
            text?: string;
            logprobs?: UpstreamLogprobs | null;
            finish_reason?: string | null;
          }[];
          usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
          error?: { message?: string };
        };
        try {
          chunk = JSON.parse(data);
        } catch {
          throw new AttemptError("stream", "the upstream sent an event that is not JSON", !emitted.any);
        }
        // The server is up and answered about this request (e.g. llama-server's output parser failing): not the
        // endpoint's health, and another endpoint would likely say the same.
        if (chunk.error) throw new AttemptError("error_event", chunk.error.message ?? "upstream error", false);
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices?.[0];
        if (!choice) return;
        for (const c of choice.delta?.tool_calls ?? []) {
          const call = (calls[c.index ?? Math.max(0, calls.length - 1)] ??= { name: "", args: "" });
          call.name += c.function?.name ?? "";
          call.args += c.function?.arguments ?? "";
        }
        const lps = logprobsOf(choice.logprobs);
        if (lps) logprobs.push(...lps);
        const piece = route === "completions" ? choice.text : choice.delta?.content;
        if (piece) {
          const t = performance.now();
          if (ttft === undefined) {
            ttft = t - t0;
            clearTimeout(firstByte);
          } else interTokenMs.push(t - last);
          last = t;
          chunks++;
          text += piece;
          emitted.any = opts.onText !== undefined;
          opts.onText?.(piece, lps);
        }
        if (choice.finish_reason) finish = choice.finish_reason === "length" ? "length" : "stop";
      };
      try {
        // Events are handled in the callback their bytes arrived in (no async iteration per event). At [DONE] the
        // body stays open: it is drained below and the connection kept.
        const parser = new SseParser();
        await new Promise<void>((resolve, reject) => {
          let settled = false;
          const settle = (e?: unknown): void => {
            if (settled) return;
            settled = true;
            answer.off("data", onData);
            answer.off("end", onEnd);
            answer.off("close", onClose);
            if (e === undefined) resolve();
            else reject(e);
          };
          const onData = (chunk: string): void => {
            try {
              for (const data of parser.push(chunk)) {
                if (data === "[DONE]") {
                  complete = true;
                  return settle();
                }
                handle(data);
              }
            } catch (e) {
              settle(e);
            }
          };
          const onEnd = (): void => settle();
          const onClose = (): void => settle(new Error("the connection closed before the answer ended"));
          answer.on("data", onData);
          answer.once("end", onEnd);
          answer.once("close", onClose);
        });
      } catch (e) {
        if (e instanceof AttemptError) throw e;
        if (opts.signal?.aborted) throw new AttemptError("cancelled", "cancelled", false);
        if (timedOut) throw new AttemptError("timeout", "the answer took too long", !emitted.any);
        throw new AttemptError("stream", `the stream broke: ${(e as Error).message}`, !emitted.any);
      }
      if (opts.signal?.aborted) throw new AttemptError("cancelled", "cancelled", false);
      const made = calls.filter((c) => c !== undefined && c.name !== "");
      if (made.length > 0) {
        const tail = (text ? "\n" : "") + made.map((c) => callText(c.name, c.args)).join("\n");
        text += tail;
        opts.onText?.(tail);
      }
      const totalMs = performance.now() - t0;
      return {
        text,
        finishReason: finish,
        promptTokens: usage?.prompt_tokens ?? 0,
        // Without a usage event (a server ignoring stream_options), one content event counts as one token.
        completionTokens: usage?.completion_tokens ?? chunks,
        ...(opts.logprobs !== undefined ? { logprobs } : {}),
        timings: {
          queueMs: 0,
          promptEvalMs: ttft ?? performance.now() - started,
          ttftMs: ttft ?? totalMs,
          evalMs: ttft === undefined ? 0 : performance.now() - t0 - ttft,
          totalMs,
          interTokenMs,
        },
      };
    } finally {
      clearTimeout(firstByte);
      clearTimeout(whole);
      opts.signal?.removeEventListener("abort", onAbort);
      if (complete && res && !res.readableEnded) {
        // After [DONE] the server ends the body at once: read it out so the connection goes back to the pool
        // (aborting would close it), and give up on it after DONE_DRAIN_MS.
        const rest = res;
        const drop = setTimeout(() => rest.destroy(), DONE_DRAIN_MS);
        drop.unref();
        rest.once("close", () => clearTimeout(drop));
        rest.resume();
      } else if (!complete && res && !res.readableEnded) {
        // Stopped early (abort, error): end the upstream response, which closes its connection.
        res.destroy();
      }
      if (stopBody) ctl.signal.removeEventListener("abort", stopBody);
      void ttft;
    }
  }

  async function run(route: Route, payload: Record<string, unknown>, opts: GenerateOptions): Promise<GenerationResult> {
    const t0 = performance.now();
    const body = {
      ...(options.extraBody ?? {}),
      ...payload,
      model: options.upstreamModel,
      ...samplingBody(opts),
      ...structuredBody(route, opts),
      stream: true,
      stream_options: { include_usage: true },
    };
    const tried = new Set<string>();
    const emitted = { any: false };
    let resetRetried = false;
    let lastError: AttemptError | undefined;
    active++;
    try {
      for (;;) {
        let lease: EndpointLease;
        try {
          lease = await pool.acquire(tried, opts.signal);
        } catch (e) {
          if (opts.signal?.aborted) return cancelledResult(t0);
          if (lastError && e instanceof ReflexiaError && e.code === "RFX_UPSTREAM_UNAVAILABLE")
            throw new ReflexiaError(
              "RFX_UPSTREAM_UNAVAILABLE",
              `${e.message}; last attempt: ${lastError.message}`,
              e.details,
            );
          throw e;
        }
        tried.add(lease.url);
        const started = performance.now();
        try {
          const result = await attempt(lease, route, body, opts, started, emitted);
          lease.release("ok");
          metrics?.observeAttempt(
            lease.labels,
            "ok",
            (performance.now() - started) / 1000,
            result.timings.ttftMs / 1000,
          );
          return { ...result, timings: { ...result.timings, totalMs: performance.now() - t0 } };
        } catch (e) {
          const err = e instanceof AttemptError ? e : new AttemptError("stream", (e as Error).message, !emitted.any);
          // One reset of a fresh connection before any byte is the connection's fault, not the endpoint's: retried
          // there; a second one ejects. (A kept-alive socket the server had closed is resent by postStream itself.)
          const kind = err.kind === "reset" && resetRetried ? "connect" : err.kind;
          lease.release(kind, err.message);
          metrics?.observeAttempt(lease.labels, kind, (performance.now() - started) / 1000, undefined);
          if (kind === "cancelled") return cancelledResult(t0);
          if (kind === "reset" && !emitted.any) {
            resetRetried = true;
            tried.delete(lease.url);
            continue;
          }
          if (err.kind === "http_4xx" || err.kind === "error_event")
            throw new ReflexiaError(
              "RFX_UPSTREAM_ERROR",
              `${lease.labels.endpoint} refused the request: ${err.message}`,
              {
                endpoint: lease.labels.endpoint,
                status: err.status,
              },
            );
          // Text already reached the client: another endpoint would start the answer over inside it.
          if (!err.retryable || emitted.any)
            throw new ReflexiaError("RFX_UPSTREAM_ERROR", `${lease.labels.endpoint}: ${err.message}`, {
              endpoint: lease.labels.endpoint,
              kind: err.kind,
            });
          lastError = err;
        }
      }
    } finally {
      active--;
    }
  }

  const cancelledResult = (t0: number): GenerationResult => {
    const totalMs = performance.now() - t0;
    return {
      text: "",
      finishReason: "cancelled",
      promptTokens: 0,
      completionTokens: 0,
      timings: { queueMs: 0, promptEvalMs: 0, ttftMs: totalMs, evalMs: 0, totalMs, interTokenMs: [] },
    };
  };

  /**
   * The request's structured output, tools and log-probabilities in OpenAI's terms (the upstream runs them). What
   * has no OpenAI spelling is refused by name rather than dropped on the way: raw GBNF (llama.cpp's own field),
   * structured output on a raw prompt (the completions API has no response_format), Ollama's token `context`.
   */
  function structuredBody(route: Route, o: GenerateOptions): Record<string, unknown> {
    const b: Record<string, unknown> = {};
    if (o.contextTokens?.length) unsupported("context (token ids of an earlier answer)");
    // The request's own cache_prompt goes up as it came (llama-server and Reflexia honour it; a server that does not
    // know the field refuses it, which reaches the client), over an extraBody default.
    if (o.cachePrompt !== undefined) b.cache_prompt = o.cachePrompt;
    if (o.tools?.length)
      b.tools = o.tools.map((t) => ({
        type: "function",
        function: {
          name: t.name,
          ...(t.description !== undefined ? { description: t.description } : {}),
          parameters: t.parameters ?? { type: "object" },
        },
      }));
    const source = o.grammar?.source;
    if (o.grammar && !source) unsupported("grammar (raw GBNF; use response_format or format with a JSON Schema)");
    if (source && route === "completions")
      unsupported("structured output on a raw prompt (completions / generate; the chat endpoints relay it)");
    if (source?.kind === "json_object") b.response_format = { type: "json_object" };
    if (source?.kind === "json_schema")
      b.response_format = {
        type: "json_schema",
        json_schema: { name: "response", schema: source.schema, strict: true },
      };
    if (source?.kind === "tool_call")
      b.tool_choice =
        typeof source.choice === "string"
          ? source.choice
          : { type: "function", function: { name: source.choice.name } };
    if (o.logprobs !== undefined) {
      if (route === "completions") b.logprobs = o.logprobs;
      else {
        b.logprobs = true;
        b.top_logprobs = o.logprobs;
      }
    }
    return b;
  }

  const unsupported = (what: string): never => {
    throw new ReflexiaError("RFX_VALIDATION", `${what} is not available on a remote variant (${options.path})`);
  };

  return {
    path: options.path,
    info,
    contextSize: options.contextSize,
    parallel: options.parallel,
    // The upstream holds the context; one request may ask for all of it.
    sequenceContextSize: options.contextSize,
    activeSequences: () => active,
    generate: (prompt, opts = {}) => run("completions", { prompt }, opts),
    chat: (messages, opts = {}) => run("chat/completions", { messages: messages.map(upstreamMessage) }, opts),
    batchGenerate: (prompts, opts = {}) => Promise.all(prompts.map((p) => run("completions", { prompt: p }, opts))),
    // Only token counts are derived from these (RAG budgets); the upstream applies its own template.
    formatChat: (messages: ChatMessage[]) => messages.map((m) => `${m.role}: ${m.content}\n`).join(""),
    tokenize: (text) => new Array<number>(estimateTokens(text)).fill(0),
    detokenize: () => unsupported("detokenize"),
    embed: () => unsupported("embeddings"),
    dispose: async () => {},
  };
}
