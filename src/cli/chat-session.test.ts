// The interactive chat loop driven by piped lines against a fake backend: which lines are commands, which are prompts,
// and what system message each turn carries.
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createRoleCatalog } from "../services/roles.ts";
import type { ChatBackend, ChatTurn } from "./chat-backends.ts";
import { runChatSession } from "./chat-session.ts";

/** Runs a session over `lines`; returns every turn the backend was asked for and what the session printed. */
async function chat(lines: string[]): Promise<{ turns: ChatTurn[]; printed: string; infoAsked: number }> {
  const turns: ChatTurn[] = [];
  let infoAsked = 0;
  const backend: ChatBackend = {
    model: "fake:latest",
    via: "embedded",
    async chat(turn) {
      turns.push(turn);
      turn.onText("ok");
      return { text: "ok", cancelled: false, promptTokens: 1, completionTokens: 1, tokensPerSecond: 1, ttftMs: 1 };
    },
    async info() {
      infoAsked++;
      return ["info"];
    },
    async switchModel() {},
    async dispose() {},
  };
  const output = new PassThrough();
  let printed = "";
  output.on("data", (d) => (printed += d));
  await runChatSession(backend, {
    roles: createRoleCatalog(),
    banner: false,
    input: Readable.from([lines.map((l) => l + "\n").join("")]),
    output,
  });
  return { turns, printed, infoAsked };
}

const userText = (t: ChatTurn): string => t.messages[t.messages.length - 1].content;
const systemText = (t: ChatTurn): string | undefined => t.messages.find((m) => m.role === "system")?.content;

describe("chat session input", () => {
  it('sends """ text that starts with / as the prompt, never runs it as a command', async () => {
    const r = await chat(['"""/bye"""', '"""', "/show info", 'x"""', "/set system from a command", "after"]);
    // /bye inside quotes did not end the session, and /show info inside them did not ask the backend.
    expect(r.turns.map(userText)).toEqual(["/bye", "/show info\nx", "after"]);
    expect(r.infoAsked).toBe(0);
    expect(r.turns.map(systemText)).toEqual([undefined, undefined, "from a command"]);
  });

  it("still runs a single line that starts with / as a command", async () => {
    const r = await chat(["/show info", "/bye", "never sent"]);
    expect(r.infoAsked).toBe(1);
    expect(r.turns).toHaveLength(0);
  });

  it('gathers a multi-line system message after /set system """, text on the opening and closing lines included', async () => {
    const r = await chat(['/set system """You are terse.', "", "Answer in French.", 'Sign as Bot."""', "hello"]);
    expect(r.turns).toHaveLength(1);
    expect(systemText(r.turns[0])).toBe("You are terse.\n\nAnswer in French.\nSign as Bot.");
    expect(userText(r.turns[0])).toBe("hello");
    expect(r.printed).toContain("... ");
    expect(r.printed.split("Set system message.").length - 1).toBe(1);
  });

  it('takes /set system """ alone on its line, and """text""" on one line', async () => {
    const alone = await chat(['/set system """', "Be brief.", '"""', "/show system", "q"]);
    expect(alone.turns).toHaveLength(1);
    expect(systemText(alone.turns[0])?.trim()).toBe("Be brief.");
    expect(userText(alone.turns[0])).toBe("q");
    const one = await chat(['/set system """Be  brief."""', "q"]);
    expect(one.turns.map(systemText)).toEqual(["Be  brief."]);
  });

  it('keeps single-line /set system text and /set system "quoted text"', async () => {
    const r = await chat(["/set system be nice", "one", '/set system "be kind"', "two", "/set system", "three"]);
    expect(r.turns.map(systemText)).toEqual(["be nice", "be kind", undefined]);
    expect(r.turns.map(userText)).toEqual(["one", "two", "three"]);
  });
});
