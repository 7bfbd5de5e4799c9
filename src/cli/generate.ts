// `reflexia generate "…"`: one answer, streamed to the terminal, with its timings.
import type { Command } from "commander";
import {
  openLocalModel,
  resolveLocalModel,
  runLocalGeneration,
  type LocalGenerationResult,
} from "../services/run-local-generation.ts";
import type { GenerateFinal, ReflexiaClient } from "../client/index.ts";
import { parseModelRef } from "../registry/index.ts";
import type { CliContext, CliContextFactory } from "./context.ts";
import { withDefaultModelHint } from "./default-model-hint.ts";
import { printJson } from "./output.ts";
import { parseSamplingFlag, SAMPLING_FLAGS } from "./sampling-flags.ts";

export function registerGenerateCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("generate")
    .description("generate an answer to a prompt with a local model")
    .argument("<prompt>", "the prompt")
    .option("-m, --model <ref>", "model name or name:tag (e.g. reflexia-tiny:q4_0)")
    .option("-r, --role <id>", "expert role (see `reflexia roles`)")
    // Sampling flags are checked here, one rule each, whether a server or the embedded engine answers.
    .option(
      "-n, --max-tokens <n>",
      "tokens to generate at most (default: the model's num_predict, else DEFAULT_MAX_TOKENS)",
      parseSamplingFlag(SAMPLING_FLAGS.maxTokens),
    )
    .option("-t, --temperature <t>", "sampling temperature (0 = greedy)", parseSamplingFlag(SAMPLING_FLAGS.temperature))
    .option("--top-p <p>", "nucleus sampling, in (0, 1]", parseSamplingFlag(SAMPLING_FLAGS.topP))
    .option("--top-k <k>", "top-k sampling (0 = off)", parseSamplingFlag(SAMPLING_FLAGS.topK))
    .option("--seed <n>", "seed for reproducible sampling", parseSamplingFlag(SAMPLING_FLAGS.seed))
    .option("--stop <s...>", "stop sequences")
    .option("--raw", "send the prompt without the chat template")
    .option("--json", "print one JSON object with the text, token counts and timings")
    .action(async (prompt: string, opts: GenerateCliOptions) => {
      const ctx = await getContext();
      const server = await ctx.server();
      try {
        await generate(ctx, server, prompt, opts);
      } catch (e) {
        throw opts.model === undefined
          ? await withDefaultModelHint(e, ctx.loaded.config.models.default, { server, store: ctx.store })
          : e;
      }
    });
}

/** One answer, through the server when one answered, else from a model loaded here. */
async function generate(
  ctx: CliContext,
  server: ReflexiaClient | null,
  prompt: string,
  opts: GenerateCliOptions,
): Promise<void> {
  if (!prompt) return loadOnly(ctx, server, opts);
  if (server) return generateThroughServer(server, ctx.loaded.config.models.default, prompt, opts);
  await ctx.ensureDefaultModel({ quiet: opts.json });
  const engine = await ctx.getEngine();
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  const result = await runLocalGeneration({ engine, store: ctx.store, config: ctx.loaded.config }, prompt, {
    model: opts.model,
    role: opts.role,
    maxTokens: opts.maxTokens,
    temperature: opts.temperature,
    topP: opts.topP,
    topK: opts.topK,
    seed: opts.seed,
    stop: opts.stop,
    raw: opts.raw,
    signal: ac.signal,
    onText: opts.json ? undefined : (t) => process.stdout.write(t),
  });
  if (opts.json) return printJson(generateJsonOfLocal(result));
  const t = result.timings;
  process.stdout.write("\n");
  process.stderr.write(
    `\n[${result.variant}] ${result.completionTokens} tokens (${result.finishReason}) · prompt ${result.promptTokens} tok in ${t.promptEvalMs.toFixed(1)} ms · ` +
      `ttft ${t.ttftMs.toFixed(1)} ms · ${tokensPerSecond(result.completionTokens, t.evalMs).toFixed(1)} tok/s · load ${result.loadMs.toFixed(0)} ms\n`,
  );
}

/**
 * `generate --json`, one shape whether a server answered or it ran embedded (scripts must not break when a server
 * starts or stops): the server's snake_case, its Ollama durations in ms. `via` is the server's URL, null embedded.
 */
export interface GenerateJson {
  model: string;
  variant: string;
  quantization: string;
  role: string | null;
  text: string;
  finish_reason: string;
  /** The whole prompt, prefix-cached tokens included (the server's prompt_eval_count leaves those out). */
  prompt_tokens: number;
  cached_prompt_tokens: number;
  completion_tokens: number;
  via: string | null;
  timings: {
    load_ms: number;
    /** Waiting for a free sequence. */
    queue_ms: number;
    prompt_eval_ms: number;
    /** Request to first token, loading left out (through a server: its queue wait plus prompt evaluation). */
    ttft_ms: number;
    /** Generation after the first token. */
    eval_ms: number;
    /** The whole request, loading included. */
    total_ms: number;
    tokens_per_second: number;
  };
}

const NO_TIMINGS: GenerateJson["timings"] = {
  load_ms: 0,
  queue_ms: 0,
  prompt_eval_ms: 0,
  ttft_ms: 0,
  eval_ms: 0,
  total_ms: 0,
  tokens_per_second: 0,
};

type LocalAnswer = Pick<
  LocalGenerationResult,
  | "model"
  | "variant"
  | "quantization"
  | "role"
  | "text"
  | "finishReason"
  | "promptTokens"
  | "completionTokens"
  | "cachedPromptTokens"
  | "loadMs"
  | "timings"
>;

function generateJsonOfLocal(r: LocalAnswer): GenerateJson {
  const t = r.timings;
  return {
    model: r.model,
    variant: r.variant,
    quantization: r.quantization,
    role: r.role ?? null,
    text: r.text,
    finish_reason: r.finishReason,
    prompt_tokens: r.promptTokens,
    cached_prompt_tokens: r.cachedPromptTokens ?? 0,
    completion_tokens: r.completionTokens,
    via: null,
    timings: {
      load_ms: r.loadMs,
      queue_ms: t.queueMs,
      prompt_eval_ms: t.promptEvalMs,
      ttft_ms: t.ttftMs,
      eval_ms: t.evalMs,
      total_ms: r.loadMs + t.totalMs,
      tokens_per_second: tokensPerSecond(r.completionTokens, t.evalMs),
    },
  };
}

function generateJsonOfServer(final: GenerateFinal, text: string, via: string): GenerateJson {
  const ms = (ns: number) => ns / 1e6;
  const m = final.reflexia;
  const cached = m.cached_prompt_tokens ?? 0;
  const loadMs = ms(final.load_duration);
  const totalMs = ms(final.total_duration);
  return {
    model: m.model,
    variant: m.variant,
    quantization: m.quantization,
    role: m.role ?? null,
    text,
    finish_reason: final.done_reason,
    prompt_tokens: final.prompt_eval_count + cached,
    cached_prompt_tokens: cached,
    completion_tokens: final.eval_count,
    via,
    timings: {
      load_ms: loadMs,
      queue_ms: m.queue_ms,
      prompt_eval_ms: ms(final.prompt_eval_duration),
      ttft_ms: m.queue_ms + ms(final.prompt_eval_duration),
      eval_ms: ms(final.eval_duration),
      total_ms: totalMs,
      tokens_per_second: tokensPerSecond(final.eval_count, ms(final.eval_duration)),
    },
  };
}

interface GenerateCliOptions {
  model?: string;
  role?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop?: string[];
  raw?: boolean;
  json?: boolean;
}

/**
 * An empty prompt loads the model and generates nothing, as Ollama's /api/generate (and `ollama run m ""`) does: the
 * server keeps it loaded for the next request; embedded, loading it shows that it loads, and it is unloaded on exit.
 */
async function loadOnly(ctx: CliContext, server: ReflexiaClient | null, opts: GenerateCliOptions): Promise<void> {
  const model = opts.model ?? ctx.loaded.config.models.default;
  let json: GenerateJson;
  if (server) {
    const t0 = performance.now();
    await server.generateStream({ model, prompt: "" });
    const loadMs = performance.now() - t0;
    // Ollama's load-only answer names no variant: the server's loaded list does.
    const ps = await server.call<{ models: { name: string; details: { quantization_level: string } }[] }>(
      "GET",
      "/api/ps",
    );
    const loaded = ps.models.find((m) => m.name === model || m.name.startsWith(`${model}:`));
    const variant = loaded?.name ?? model;
    json = {
      model: parseModelRef(variant).name,
      variant,
      quantization: loaded?.details.quantization_level.toLowerCase() ?? "",
      role: null,
      text: "",
      finish_reason: "load",
      prompt_tokens: 0,
      cached_prompt_tokens: 0,
      completion_tokens: 0,
      via: server.baseUrl,
      timings: { ...NO_TIMINGS, load_ms: loadMs, total_ms: loadMs },
    };
  } else {
    await ctx.ensureDefaultModel({ quiet: opts.json });
    const variant = await resolveLocalModel(ctx.store, ctx.loaded.config, model);
    const opened = await openLocalModel(await ctx.getEngine(), ctx.loaded.config, variant.path);
    await opened.model.dispose();
    const t = { queueMs: 0, promptEvalMs: 0, ttftMs: 0, evalMs: 0, totalMs: 0, interTokenMs: [] };
    json = generateJsonOfLocal({
      role: undefined,
      model: variant.name,
      variant: `${variant.name}:${variant.tag}`,
      quantization: variant.quantization,
      text: "",
      finishReason: "stop",
      promptTokens: 0,
      completionTokens: 0,
      loadMs: opened.loadMs,
      timings: t,
    });
  }
  json.finish_reason = "load";
  if (opts.json) return printJson(json);
  process.stderr.write(
    `loaded ${model}${server ? ` on ${server.baseUrl}` : ""}; the prompt was empty, so nothing was generated\n`,
  );
}

/** The same command through the running server's /api/generate: its loaded model answers, none is loaded here. */
async function generateThroughServer(
  server: ReflexiaClient,
  defaultModel: string,
  prompt: string,
  opts: GenerateCliOptions,
): Promise<void> {
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  let text = "";
  const final = await server.generateStream(
    {
      model: opts.model ?? defaultModel,
      prompt,
      role: opts.role,
      raw: opts.raw,
      options: {
        num_predict: opts.maxTokens,
        temperature: opts.temperature,
        top_p: opts.topP,
        top_k: opts.topK,
        seed: opts.seed,
        stop: opts.stop,
      },
    },
    {
      signal: ac.signal,
      onText: (t) => {
        text += t;
        if (!opts.json) process.stdout.write(t);
      },
    },
  );
  const json = generateJsonOfServer(final, text, server.baseUrl);
  if (opts.json) return printJson(json);
  const t = json.timings;
  process.stdout.write("\n");
  process.stderr.write(
    `\n[${json.variant} via ${server.baseUrl}] ${json.completion_tokens} tokens (${json.finish_reason}) · prompt ${json.prompt_tokens} tok (${json.cached_prompt_tokens} cached) in ${t.prompt_eval_ms.toFixed(1)} ms · ${t.tokens_per_second.toFixed(1)} tok/s · load ${t.load_ms.toFixed(0)} ms\n`,
  );
}

/** Decode rate after the first token: tokens beyond the first over the time spent generating them. */
export function tokensPerSecond(tokens: number, evalMs: number): number {
  return tokens > 1 && evalMs > 0 ? ((tokens - 1) * 1000) / evalMs : 0;
}
