// `reflexia run MODEL [PROMPT]`, as `ollama run`: a prompt (argument and/or piped stdin) is answered once;
// without one, an interactive chat. Through the running server when one answers, else embedded.
import type { Command } from "commander";
import { runLocalGeneration } from "../services/run-local-generation.ts";
import { startChat } from "./chat.ts";
import type { CliContextFactory } from "./context.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
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
