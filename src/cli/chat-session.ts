// The interactive chat loop `reflexia chat` and `reflexia run` share, with Ollama's habits: /bye, """ multi-line
// input (always a prompt, never a command), /set parameter, /set system (""" for several lines), /show info; Ctrl-C
// cancels a reply (or says how to leave), Ctrl-D exits.
import { createInterface } from "node:readline";
import type { ChatMessage } from "../engine/types.ts";
import { MODEL_PARAMETER_NAMES } from "../services/apply-modelfile.ts";
import type { RoleCatalog } from "../services/roles.ts";
import type { ChatBackend } from "./chat-backends.ts";

export const CHAT_HELP = [
  "Available commands:",
  "  /set parameter <name> <value>   set a parameter (" + MODEL_PARAMETER_NAMES.join(", ") + ")",
  '  /set system <text>              set the system message (""" … """ for several lines)',
  "  /show info                      details of this model",
  "  /show parameters | system       what is set in this session",
  "  /clear                          forget the conversation",
  "  /model <ref>                    switch model",
  "  /role <id>|none   /roles        expert role",
  "  /stats                          tokens and speed so far",
  "  /bye  (/exit)                   leave",
  '  """                             begin and end multi-line input',
  "Ctrl-C cancels a reply; Ctrl-D exits.",
].join("\n");

export interface ChatSessionOptions {
  roles: RoleCatalog;
  roleId?: string;
  rag?: boolean;
  /** Builds the user message for --rag when the backend cannot retrieve itself (embedded). */
  ragPrompt?: (question: string) => Promise<{ prompt: string; sources: string[] }>;
  /** Initial options by Ollama's names (e.g. num_predict from --max-tokens). */
  options?: Record<string, unknown>;
  banner?: boolean;
  /** Where lines come from and text goes (the terminal unless given: tests pass streams). */
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream;
}

/** Parses `/set parameter` values as Ollama does: stop accumulates strings, the others are numbers. */
export function parseParameter(
  options: Record<string, unknown>,
  name: string,
  raw: string,
): Record<string, unknown> | string {
  if (!(MODEL_PARAMETER_NAMES as string[]).includes(name))
    return `unknown parameter "${name}" (known: ${MODEL_PARAMETER_NAMES.join(", ")})`;
  if (name === "stop") {
    const value = raw.replace(/^"(.*)"$/, "$1");
    return { ...options, stop: [...((options.stop as string[]) ?? []), value] };
  }
  const n = Number(raw);
  if (raw === "" || !Number.isFinite(n)) return `parameter ${name} needs a number, got ${JSON.stringify(raw)}`;
  return { ...options, [name]: n };
}

export async function runChatSession(backend: ChatBackend, opts: ChatSessionOptions): Promise<void> {
  let roleId = opts.roleId;
  let system: string | undefined;
  let options: Record<string, unknown> = { ...opts.options };
  let history: ChatMessage[] = [];
  const stats = { turns: 0, promptTokens: 0, completionTokens: 0, lastTps: 0, lastTtft: 0 };
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const tty = Boolean(input.isTTY);
  const out = (s: string): void => void output.write(s);
  const rl = createInterface({ input, output, terminal: tty });
  if (opts.banner !== false)
    out(
      `reflexia · ${backend.model} (${backend.via})${roleId ? ` · role ${roleId}` : ""}${opts.rag ? " · rag" : ""}\n` +
        `Send a message (/? for help, /bye to leave)\n`,
    );
  let current: AbortController | undefined;
  rl.on("SIGINT", () => {
    if (current) current.abort();
    else {
      out("\nUse Ctrl + d or /bye to exit.\n>>> ");
    }
  });
  // The async iterator buffers lines, so piped input (scripts, tests) loses nothing while a reply streams.
  const lines = rl[Symbol.asyncIterator]();
  const readLine = async (): Promise<string | null> => {
    const next = await lines.next();
    if (next.done) return null;
    const line = String(next.value);
    if (!tty) out(line + "\n");
    return line;
  };
  // """ opens multi-line input, closed by a line ending in """ (Ollama's rule). `first` is what followed the opening
  // quotes on their line; the text between the quotes comes back, without them.
  const readMultiline = async (first: string): Promise<string> => {
    const parts = [first];
    let closed = first.trimEnd().endsWith('"""');
    while (!closed) {
      out("... ");
      const more = await readLine();
      if (more === null) break;
      parts.push(more);
      closed = more.trimEnd().endsWith('"""');
    }
    const joined = parts.join("\n").trimEnd();
    return (joined.endsWith('"""') ? joined.slice(0, -3) : joined).replace(/^\n/, "");
  };
  try {
    for (;;) {
      out(">>> ");
      const read = await readLine();
      if (read === null) break;
      // Only a single line is a command, as in Ollama: text gathered by """ is the prompt even when it starts with /.
      const multiline = read.trimStart().startsWith('"""');
      const line = multiline ? await readMultiline(read.trimStart().slice(3)) : read.trim();
      if (!line.trim()) continue;
      if (!multiline && line.startsWith("/")) {
        const [cmd, ...rest] = line.split(/\s+/);
        const arg = rest.join(" ");
        try {
          if (cmd === "/bye" || cmd === "/exit" || cmd === "/quit") break;
          else if (cmd === "/?" || cmd === "/help") out(CHAT_HELP + "\n");
          else if (cmd === "/clear") {
            history = [];
            out("Cleared session context\n");
          } else if (cmd === "/set" && rest[0] === "parameter") {
            const r = parseParameter(options, rest[1] ?? "", rest.slice(2).join(" "));
            if (typeof r === "string") out(`error: ${r}\n`);
            else {
              options = r;
              out(`Set parameter '${rest[1]}' to '${rest.slice(2).join(" ")}'\n`);
            }
          } else if (cmd === "/set" && rest[0] === "system") {
            // `/set system """` gathers lines until the closing quotes, as a prompt's """ does; else the rest of the
            // line, without one pair of surrounding quotes.
            const text = line.replace(/^\/set\s+system\s*/, "");
            system =
              (text.startsWith('"""') ? await readMultiline(text.slice(3)) : text.replace(/^"(.*)"$/, "$1")) ||
              undefined;
            out("Set system message.\n");
          } else if (cmd === "/show" && rest[0] === "info") out((await backend.info()).join("\n") + "\n");
          else if (cmd === "/show" && rest[0] === "parameters")
            out(
              Object.entries(options)
                .map(([k, v]) => `${k.padEnd(20)} ${JSON.stringify(v)}`)
                .join("\n") + "\n",
            );
          else if (cmd === "/show" && rest[0] === "system") out(`${system ?? "(none)"}\n`);
          else if (cmd === "/roles")
            out(
              opts.roles
                .list()
                .map((r) => `${r.id.padEnd(22)} ${r.category.padEnd(12)} ${r.name}`)
                .join("\n") + "\n",
            );
          else if (cmd === "/role") {
            roleId = !arg || arg === "none" ? undefined : opts.roles.get(arg).id;
            out(`role: ${roleId ?? "none"}\n`);
          } else if (cmd === "/model") {
            await backend.switchModel(arg);
            out(`model: ${backend.model}\n`);
          } else if (cmd === "/stats")
            out(
              `model ${backend.model} · turns ${stats.turns} · prompt tokens ${stats.promptTokens} · generated ${stats.completionTokens} · last ${stats.lastTps.toFixed(1)} tok/s, ttft ${stats.lastTtft.toFixed(0)} ms · history ${history.length} messages\n`,
            );
          else out(`Unknown command '${cmd}'. Type /? for help\n`);
        } catch (e) {
          out(`error: ${(e as Error).message}\n`);
        }
        continue;
      }
      const head: ChatMessage[] = [];
      const systemText = [
        roleId && !backend.via.startsWith("server") ? opts.roles.get(roleId).systemPrompt : "",
        system ?? "",
      ]
        .filter(Boolean)
        .join("\n\n");
      if (systemText) head.push({ role: "system", content: systemText });
      let userContent = line;
      let sources: string[] = [];
      if (opts.rag && opts.ragPrompt) {
        const built = await opts.ragPrompt(line);
        userContent = built.prompt;
        sources = built.sources;
      }
      current = new AbortController();
      try {
        const r = await backend.chat({
          messages: [...head, ...history, { role: "user", content: userContent }],
          options,
          role: backend.via.startsWith("server") ? roleId : undefined,
          rag: opts.rag && !opts.ragPrompt ? true : undefined,
          signal: current.signal,
          onText: (t) => out(t),
        });
        out(r.cancelled ? " [cancelled]\n\n" : "\n\n");
        if (sources.length) out(`sources: ${sources.join("; ")}\n`);
        if (r.cancelled) continue;
        history.push({ role: "user", content: line }, { role: "assistant", content: r.text });
        stats.turns++;
        stats.promptTokens += r.promptTokens;
        stats.completionTokens += r.completionTokens;
        stats.lastTps = r.tokensPerSecond;
        stats.lastTtft = r.ttftMs;
      } catch (e) {
        out(`\nerror: ${(e as Error).message}\n`);
      } finally {
        current = undefined;
      }
    }
  } finally {
    rl.close();
  }
}
