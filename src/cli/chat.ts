// `reflexia chat`: interactive terminal chat with streaming and slash commands.
import { createInterface } from "node:readline";
import type { Command } from "commander";
import type { ChatMessage, LoadedModel } from "../engine/types.ts";
import { createRoleCatalog } from "../services/roles.ts";
import { openLocalModel, resolveLocalModel } from "../services/run-local-generation.ts";
import type { CliContextFactory } from "./context.ts";
import { tokensPerSecond } from "./generate.ts";
import { parseIntOption, parseNumberOption } from "./parse-options.ts";

const HELP = "commands: /role <id>|none  /roles  /model <ref>  /clear  /stats  /help  /exit";

export function registerChatCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("chat")
    .description("interactive chat in the terminal (streaming; /role /model /clear /stats /exit)")
    .option("-m, --model <ref>", "model name or name:tag")
    .option("-r, --role <id>", "expert role")
    .option("-n, --max-tokens <n>", "tokens per answer at most", parseIntOption("--max-tokens", 1, 1 << 20), 256)
    .option("-t, --temperature <t>", "sampling temperature", parseNumberOption("--temperature", 0, 10))
    .option("--rag", "answer from ingested documents (retrieval-augmented)")
    .action(async (opts) => {
      const ctx = await getContext();
      const config = ctx.loaded.config;
      await ctx.ensureDefaultModel();
      const engine = await ctx.getEngine();
      const roles = createRoleCatalog(config.roles.custom);
      let roleId: string | undefined = opts.role ? roles.get(opts.role).id : undefined;
      let variant = await resolveLocalModel(ctx.store, config, opts.model);
      let model: LoadedModel = (await openLocalModel(engine, config, variant.path)).model;
      let history: ChatMessage[] = [];
      const stats = { turns: 0, promptTokens: 0, completionTokens: 0, lastTps: 0, lastTtft: 0 };
      const rag = opts.rag ? await openRag(ctx) : undefined;
      const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
      process.stdout.write(
        `reflexia chat · ${variant.name}:${variant.tag}${roleId ? ` · role ${roleId}` : ""}${rag ? " · rag" : ""}\n${HELP}\n`,
      );
      let current: AbortController | undefined;
      rl.on("SIGINT", () => (current ? current.abort() : rl.close()));
      // The async iterator buffers lines, so piped input (scripts, tests) loses nothing while a reply streams.
      const lines = rl[Symbol.asyncIterator]();
      const prompt = () => process.stdout.write("> ");
      try {
        for (prompt(); ; prompt()) {
          const next = await lines.next();
          if (next.done) break;
          const line = String(next.value).trim();
          if (!process.stdin.isTTY) process.stdout.write(line + "\n");
          if (!line) continue;
          if (line.startsWith("/")) {
            const [cmd, ...rest] = line.split(/\s+/);
            const arg = rest.join(" ");
            try {
              if (cmd === "/exit" || cmd === "/quit") break;
              else if (cmd === "/help") process.stdout.write(HELP + "\n");
              else if (cmd === "/clear") {
                history = [];
                process.stdout.write("history cleared\n");
              } else if (cmd === "/roles")
                process.stdout.write(
                  roles
                    .list()
                    .map((r) => `${r.id.padEnd(22)} ${r.category.padEnd(12)} ${r.name}`)
                    .join("\n") + "\n",
                );
              else if (cmd === "/role") {
                roleId = !arg || arg === "none" ? undefined : roles.get(arg).id;
                process.stdout.write(`role: ${roleId ?? "none"}\n`);
              } else if (cmd === "/model") {
                const next = await resolveLocalModel(ctx.store, config, arg || undefined);
                const opened = await openLocalModel(engine, config, next.path);
                await model.dispose();
                model = opened.model;
                variant = next;
                process.stdout.write(
                  `model: ${variant.name}:${variant.tag} (loaded in ${opened.loadMs.toFixed(0)} ms)\n`,
                );
              } else if (cmd === "/stats") {
                process.stdout.write(
                  `model ${variant.name}:${variant.tag} · turns ${stats.turns} · prompt tokens ${stats.promptTokens} · generated ${stats.completionTokens} · last ${stats.lastTps.toFixed(1)} tok/s, ttft ${stats.lastTtft.toFixed(0)} ms · history ${history.length} messages\n`,
                );
              } else process.stdout.write(`unknown command ${cmd}; ${HELP}\n`);
            } catch (e) {
              process.stdout.write(`error: ${(e as Error).message}\n`);
            }
            continue;
          }
          const system: ChatMessage[] = roleId ? [{ role: "system", content: roles.get(roleId).systemPrompt }] : [];
          let userContent = line;
          let sources: string[] = [];
          if (rag) {
            const built = await rag.answerPrompt(line);
            userContent = built.prompt;
            sources = built.sources;
          }
          current = new AbortController();
          const result = await model.chat([...system, ...history, { role: "user", content: userContent }], {
            maxTokens: opts.maxTokens,
            temperature: opts.temperature,
            signal: current.signal,
            onText: (t) => process.stdout.write(t),
          });
          current = undefined;
          process.stdout.write(result.finishReason === "cancelled" ? " [cancelled]\n" : "\n");
          if (sources.length) process.stdout.write(`sources: ${sources.join("; ")}\n`);
          history.push({ role: "user", content: line }, { role: "assistant", content: result.text });
          stats.turns++;
          stats.promptTokens += result.promptTokens;
          stats.completionTokens += result.completionTokens;
          stats.lastTps = tokensPerSecond(result.completionTokens, result.timings.evalMs);
          stats.lastTtft = result.timings.ttftMs;
        }
      } finally {
        rl.close();
        await model.dispose();
        await rag?.close();
      }
    });
}

/** Opens the document store for --rag; the prompt builder cites sources by title. */
async function openRag(ctx: Awaited<ReturnType<CliContextFactory>>) {
  const { openRag } = await import("../services/rag/open-rag.ts");
  return openRag(ctx.loaded.config, { getEngine: ctx.getEngine, store: ctx.store });
}
