import { describe, expect, it } from "vitest";
import { isReflexiaError } from "../errors/index.ts";
import type { ChatMessage } from "../engine/types.ts";
import { fitContext } from "./fit-context.ts";

// One token per word, plus one for BOS.
const count = (m: ChatMessage[] | undefined) => 1 + (m ?? []).reduce((n, x) => n + x.content.split(" ").length, 0);
const msgs = (): ChatMessage[] => [
  { role: "system", content: "s s s" },
  { role: "user", content: "a a a a a a a a a a" },
  { role: "assistant", content: "b b b b b b b b b b" },
  { role: "user", content: "c c" },
];
const base = { limit: 30, countTokens: count, limitName: "CONTEXT_SIZE 30" };

describe("fitContext", () => {
  it("leaves a request that fits alone", () => {
    const r = fitContext({ ...base, policy: "truncate", messages: msgs(), maxTokens: 4, maxTokensExplicit: true });
    expect(r.messages).toHaveLength(4);
    expect(r.fit).toMatchObject({ droppedMessages: 0, maxTokens: 4, maxTokensLowered: false, promptTokens: 26 });
  });

  it("truncate drops the oldest non-system messages, keeping the system prompt and the last message", () => {
    const r = fitContext({ ...base, policy: "truncate", messages: msgs(), maxTokens: 12, maxTokensExplicit: true });
    expect(r.messages!.map((m) => m.content[0])).toEqual(["s", "b", "c"]);
    expect(r.fit.droppedMessages).toBe(1);
    const r2 = fitContext({ ...base, policy: "truncate", messages: msgs(), maxTokens: 20, maxTokensExplicit: true });
    expect(r2.messages!.map((m) => m.content[0])).toEqual(["s", "c"]);
  });

  it("lowers a default max_tokens, never an explicit one", () => {
    const r = fitContext({ ...base, policy: "error", messages: msgs(), maxTokens: 20, maxTokensExplicit: false });
    expect(r.fit).toMatchObject({ maxTokens: 4, maxTokensLowered: true, droppedMessages: 0 });
    let e: unknown;
    try {
      fitContext({ ...base, policy: "error", messages: msgs(), maxTokens: 20, maxTokensExplicit: true });
    } catch (x) {
      e = x;
    }
    expect(isReflexiaError(e) && e.code).toBe("RFX_CONTEXT_OVERFLOW");
    expect(String((e as Error).message)).toContain("CONTEXT_SIZE 30");
  });

  it("refuses what no truncation can fit (a raw prompt is never cut)", () => {
    expect(() =>
      fitContext({ ...base, policy: "truncate", maxTokens: 10, maxTokensExplicit: true, countTokens: () => 25 }),
    ).toThrow(/does not fit the 30-token context/);
  });

  it("does not tokenize what a bound shows cannot fit: drops it or refuses with 'at least', the same choice as counting", () => {
    // Two characters per word ("a "), so characters / 2 never exceeds the count.
    const least = (m: ChatMessage[] | undefined) =>
      1 + Math.floor((m ?? []).reduce((n, x) => n + x.content.length, 0) / 2);
    const counted: number[] = [];
    const countTracked = (m: ChatMessage[] | undefined) => (counted.push(m?.length ?? 0), count(m));
    const huge: ChatMessage[] = [
      { role: "system", content: "s s s" },
      { role: "user", content: Array(200).fill("a").join(" ") },
      { role: "assistant", content: "b b" },
      { role: "user", content: "c c" },
    ];
    const both = { ...base, policy: "truncate" as const, maxTokens: 4, maxTokensExplicit: true };
    const r = fitContext({ ...both, messages: huge, countTokens: countTracked, leastTokens: least });
    const plain = fitContext({ ...both, messages: huge });
    expect(r).toEqual(plain);
    // Only the prompt without the 200-word message was tokenized.
    expect(counted).toEqual([3]);
    const raw = (() => {
      try {
        fitContext({ ...both, policy: "error", messages: huge, countTokens: countTracked, leastTokens: least });
      } catch (e) {
        return e;
      }
    })();
    expect(isReflexiaError(raw) && raw.code).toBe("RFX_CONTEXT_OVERFLOW");
    expect((raw as Error).message).toContain("a prompt of at least 206 tokens plus max_tokens 4");
    expect(counted).toEqual([3]);
  });
});
