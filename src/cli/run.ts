// `reflexia run MODEL [PROMPT]`, as `ollama run`: a prompt (argument and/or piped stdin) is answered once;
// without one, an interactive chat at a terminal, or only loading the model when stdin is piped and empty.
// Through the running server when one answers, else embedded.
import type { Command } from "commander";
import { openLocalModel, resolveLocalModel, runLocalGeneration } from "../services/run-local-generation.ts";
import { startChat } from "./chat.ts";
import type { CliContext, CliContextFactory } from "./context.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Loads the model and generates nothing, as `ollama run MODEL < /dev/null` does: a missing model is still an error,
 * the server keeps the model loaded for the next request, and embedded it is unloaded again.
 */
async function loadOnly(ctx: CliContext, model: string): Promise<void> {
  const server = await ctx.server();
  if (server) {
    await server.generateStream({ model, prompt: "" });
    return;
  }
  const variant = await resolveLocalModel(ctx.store, ctx.loaded.config, model);
  const opened = await openLocalModel(await ctx.getEngine(), ctx.loaded.config, variant.path);
  await opened.model.dispose();
}

export function registerRunCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("run")
    .description("run a model: answer PROMPT (or piped stdin) once, or chat interactively")
    .argument("<model>", "model name or name:tag")
    .argument("[prompt...]", "the prompt (piped stdin is appended)")
    .action(async (model: string, words: string[]) => {
      const ctx = await getContext();
      let prompt = words.join(" ");
      if (!process.stdin.isTTY) {
        const piped = (await readStdin()).trim();
        prompt = [prompt, piped].filter(Boolean).join("\n\n");
        // stdin was read to its end: no chat can follow on it, so nothing to say means only loading the model.
        if (!prompt) return loadOnly(ctx, model);
      }
      if (!prompt) return startChat(ctx, { model });
      const ac = new AbortController();
      process.once("SIGINT", () => ac.abort());
      const server = await ctx.server();
      if (server) {
        await server.generateStream(
          { model, prompt },
          { signal: ac.signal, onText: (t) => void process.stdout.write(t) },
        );
      } else {
        await runLocalGeneration(
          { engine: await ctx.getEngine(), store: ctx.store, config: ctx.loaded.config },
          prompt,
          {
            model,
            signal: ac.signal,
            onText: (t) => process.stdout.write(t),
          },
        );
      }
      process.stdout.write("\n");
    });
}
