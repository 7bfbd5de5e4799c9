// `reflexia generate "…"`: one answer, streamed to the terminal, with its timings.
import type { Command } from "commander";
import { openLocalModel, resolveLocalModel, runLocalGeneration } from "../services/run-local-generation.ts";
import type { ReflexiaClient } from "../client/index.ts";
import type { CliContext, CliContextFactory } from "./context.ts";
import { printJson } from "./output.ts";
import { parseIntOption, parseNumberOption } from "./parse-options.ts";

export function registerGenerateCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("generate")
    .description("generate an answer to a prompt with a local model")
    .argument("<prompt>", "the prompt")
    .option("-m, --model <ref>", "model name or name:tag (e.g. reflexia-tiny:q4_0)")
    .option("-r, --role <id>", "expert role (see `reflexia roles`)")
    .option(
      "-n, --max-tokens <n>",
      "tokens to generate at most (default: the model's num_predict, else DEFAULT_MAX_TOKENS)",
      parseIntOption("--max-tokens", 1, 1 << 20),
    )
    .option("-t, --temperature <t>", "sampling temperature (0 = greedy)", parseNumberOption("--temperature", 0, 10))
    .option("--top-p <p>", "nucleus sampling", parseNumberOption("--top-p", 0, 1))
    .option("--top-k <k>", "top-k sampling", parseIntOption("--top-k", 0, 1 << 20))
    .option("--seed <n>", "seed for reproducible sampling", parseIntOption("--seed", 0, 2 ** 31 - 1))
    .option("--stop <s...>", "stop sequences")
    .option("--raw", "send the prompt without the chat template")
    .option("--json", "print one JSON object with the text, token counts and timings")
    .action(async (prompt: string, opts) => {
      const ctx = await getContext();
      const server = await ctx.server();
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
      if (opts.json) {
        return printJson({
          model: result.model,
          variant: result.variant,
          quantization: result.quantization,
          role: result.role ?? null,
          text: result.text,
          finish_reason: result.finishReason,
          prompt_tokens: result.promptTokens,
          cached_prompt_tokens: result.cachedPromptTokens ?? 0,
          completion_tokens: result.completionTokens,
          timings: {
            load_ms: result.loadMs,
            ...result.timings,
            tokens_per_second: tokensPerSecond(result.completionTokens, result.timings.evalMs),
          },
        });
      }
      const t = result.timings;
      process.stdout.write("\n");
      process.stderr.write(
        `\n[${result.variant}] ${result.completionTokens} tokens (${result.finishReason}) · prompt ${result.promptTokens} tok in ${t.promptEvalMs.toFixed(1)} ms · ` +
          `ttft ${t.ttftMs.toFixed(1)} ms · ${tokensPerSecond(result.completionTokens, t.evalMs).toFixed(1)} tok/s · load ${result.loadMs.toFixed(0)} ms\n`,
      );
    });
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
  let loadMs: number;
  if (server) {
    const t0 = performance.now();
    await server.generateStream({ model, prompt: "" });
    loadMs = performance.now() - t0;
  } else {
    await ctx.ensureDefaultModel({ quiet: opts.json });
    const variant = await resolveLocalModel(ctx.store, ctx.loaded.config, model);
    const opened = await openLocalModel(await ctx.getEngine(), ctx.loaded.config, variant.path);
    await opened.model.dispose();
    loadMs = opened.loadMs;
  }
  if (opts.json) {
    return printJson({
      model,
      text: "",
      finish_reason: "load",
      prompt_tokens: 0,
      completion_tokens: 0,
      ...(server ? { via: server.baseUrl } : {}),
      timings: { load_ms: loadMs },
    });
  }
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
  const ms = (ns: number) => ns / 1e6;
  // The whole prompt, as embedded reports it: prompt_eval_count leaves out what the server's prefix cache held.
  const cached = final.reflexia.cached_prompt_tokens ?? 0;
  const promptTokens = final.prompt_eval_count + cached;
  const tps = tokensPerSecond(final.eval_count, ms(final.eval_duration));
  if (opts.json) {
    return printJson({
      model: final.reflexia.model,
      variant: final.reflexia.variant,
      quantization: final.reflexia.quantization,
      role: final.reflexia.role ?? null,
      text,
      finish_reason: final.done_reason,
      prompt_tokens: promptTokens,
      cached_prompt_tokens: cached,
      completion_tokens: final.eval_count,
      via: server.baseUrl,
      timings: {
        load_ms: ms(final.load_duration),
        prompt_eval_ms: ms(final.prompt_eval_duration),
        eval_ms: ms(final.eval_duration),
        total_ms: ms(final.total_duration),
        tokens_per_second: tps,
      },
    });
  }
  process.stdout.write("\n");
  process.stderr.write(
    `\n[${final.reflexia.variant} via ${server.baseUrl}] ${final.eval_count} tokens (${final.done_reason}) · prompt ${promptTokens} tok (${cached} cached) in ${ms(final.prompt_eval_duration).toFixed(1)} ms · ${tps.toFixed(1)} tok/s · load ${ms(final.load_duration).toFixed(0)} ms\n`,
  );
}

/** Decode rate after the first token: tokens beyond the first over the time spent generating them. */
export function tokensPerSecond(tokens: number, evalMs: number): number {
  return tokens > 1 && evalMs > 0 ? ((tokens - 1) * 1000) / evalMs : 0;
}
