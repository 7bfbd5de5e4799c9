// `reflexia chat`: interactive terminal chat (streaming, Ollama's slash commands) through the running server, or
// embedded when none answers (--local forces it).
import type { Command } from "commander";
import { createRoleCatalog } from "../services/roles.ts";
import { createLocalChatBackend, createServerChatBackend, type ChatBackend } from "./chat-backends.ts";
import { runChatSession } from "./chat-session.ts";
import type { CliContext, CliContextFactory } from "./context.ts";
import { withDefaultModelHint } from "./default-model-hint.ts";
import { parseSamplingFlag, SAMPLING_FLAGS } from "./sampling-flags.ts";

export interface ChatCliOptions {
  model?: string;
  role?: string;
  maxTokens?: number;
  temperature?: number;
  rag?: boolean;
}

/** Opens the chat backend (server first) and runs the interactive session until /bye or Ctrl-D. */
export async function startChat(ctx: CliContext, opts: ChatCliOptions): Promise<void> {
  const config = ctx.loaded.config;
  const roles = createRoleCatalog(config.roles.custom);
  const roleId = opts.role ? roles.get(opts.role).id : undefined;
  const options: Record<string, unknown> = {};
  if (opts.maxTokens !== undefined) options.num_predict = opts.maxTokens;
  if (opts.temperature !== undefined) options.temperature = opts.temperature;
  const server = await ctx.server();
  let backend: ChatBackend;
  let rag: Awaited<ReturnType<typeof openRag>> | undefined;
  try {
    if (server) {
      const model = opts.model ?? config.models.default;
      // Asked before the first prompt, as embedded opens the model first: a missing one ends the command here, with
      // the hint below, instead of failing every turn of a session.
      await server.call("POST", "/api/show", { model });
      backend = createServerChatBackend(server, model);
    } else {
      await ctx.ensureDefaultModel();
      backend = await createLocalChatBackend({ engine: await ctx.getEngine(), store: ctx.store, config }, opts.model);
    }
  } catch (e) {
    throw opts.model === undefined
      ? await withDefaultModelHint(e, config.models.default, { server, store: ctx.store })
      : e;
  }
  if (!server && opts.rag) rag = await openRag(ctx);
  try {
    await runChatSession(backend, {
      roles,
      roleId,
      rag: opts.rag,
      ragPrompt: rag ? (q) => rag.answerPrompt(q) : undefined,
      options,
    });
  } finally {
    await backend.dispose();
    await rag?.close();
  }
}

export function registerChatCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("chat")
    .description('interactive chat in the terminal (streaming; /set, /show, /role, /model, /bye; """ multi-line)')
    .option("-m, --model <ref>", "model name or name:tag")
    .option("-r, --role <id>", "expert role")
    // No default here: an unset --max-tokens leaves num_predict to the model's PARAMETER (as `reflexia run` does).
    .option(
      "-n, --max-tokens <n>",
      "tokens per answer at most (default: the model's num_predict, else DEFAULT_MAX_TOKENS)",
      parseSamplingFlag(SAMPLING_FLAGS.maxTokens),
    )
    .option("-t, --temperature <t>", "sampling temperature", parseSamplingFlag(SAMPLING_FLAGS.temperature))
    .option("--rag", "answer from ingested documents (retrieval-augmented)")
    .action(async (opts: ChatCliOptions) => startChat(await getContext(), opts));
}

/** Opens the document store for embedded --rag; the prompt builder cites sources by title. */
async function openRag(ctx: CliContext) {
  const { openRag } = await import("../services/rag/open-rag.ts");
  return openRag(ctx.loaded.config, { getEngine: ctx.getEngine, store: ctx.store });
}
