import { describe, expect, it } from "vitest";
import { canonicalJson, deriveCacheKey, verbatim, type CacheKeyParts } from "./derive-cache-key.ts";

const base: CacheKeyParts = {
  variant: "reflexia-tiny:q4_0",
  kind: "chat",
  messages: [
    { role: "system", content: "be brief" },
    { role: "user", content: "hi" },
  ],
  role: "engineer",
  sampling: { temperature: 0, top_p: 0.9, top_k: 40, seed: 7, max_tokens: 64, stop: ["\n"] },
  ragFingerprint: "abc",
};

describe("deriveCacheKey", () => {
  it("is a stable sha256 hex", () => {
    const k = deriveCacheKey(base);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(deriveCacheKey(structuredClone(base))).toBe(k);
  });

  it("ignores key order and undefined members", () => {
    const reordered: CacheKeyParts = {
      sampling: { stop: ["\n"], max_tokens: 64, seed: 7, top_k: 40, top_p: 0.9, temperature: 0, mirostat: undefined },
      ragFingerprint: "abc",
      role: "engineer",
      messages: [
        { content: "be brief", role: "system" },
        { content: "hi", role: "user", name: undefined },
      ],
      kind: "chat",
      variant: "reflexia-tiny:q4_0",
      prompt: undefined,
    };
    expect(deriveCacheKey(reordered)).toBe(deriveCacheKey(base));
  });

  const changes: Array<[string, CacheKeyParts]> = [
    ["variant", { ...base, variant: "reflexia-tiny:q8_0" }],
    ["kind", { ...base, kind: "generate" }],
    ["prompt added", { ...base, prompt: "x" }],
    [
      "message content",
      {
        ...base,
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "hi!" },
        ],
      },
    ],
    [
      "message role",
      {
        ...base,
        messages: [
          { role: "system", content: "be brief" },
          { role: "assistant", content: "hi" },
        ],
      },
    ],
    [
      "message order",
      {
        ...base,
        messages: [
          { role: "user", content: "hi" },
          { role: "system", content: "be brief" },
        ],
      },
    ],
    ["message dropped", { ...base, messages: [{ role: "user", content: "hi" }] }],
    ["role", { ...base, role: "lawyer" }],
    ["role removed", { ...base, role: undefined }],
    ["temperature", { ...base, sampling: { ...base.sampling, temperature: 0.1 } }],
    ["top_p", { ...base, sampling: { ...base.sampling, top_p: 0.95 } }],
    ["top_k", { ...base, sampling: { ...base.sampling, top_k: 41 } }],
    ["seed", { ...base, sampling: { ...base.sampling, seed: 8 } }],
    ["max_tokens", { ...base, sampling: { ...base.sampling, max_tokens: 65 } }],
    ["stop", { ...base, sampling: { ...base.sampling, stop: ["\n\n"] } }],
    ["new sampling option", { ...base, sampling: { ...base.sampling, repeat_penalty: 1.1 } }],
    ["rag fingerprint", { ...base, ragFingerprint: "abd" }],
    ["rag removed", { ...base, ragFingerprint: undefined }],
    ["extra", { ...base, extra: { context_size: 2048 } }],
  ];
  it.each(changes)("changes when %s changes", (_name, parts) => {
    expect(deriveCacheKey(parts)).not.toBe(deriveCacheKey(base));
  });

  it("keeps all variations distinct from each other", () => {
    const keys = new Set(changes.map(([, p]) => deriveCacheKey(p)));
    expect(keys.size).toBe(changes.length);
  });

  it("does not confuse a prompt with a one-message chat or string with number", () => {
    const a = deriveCacheKey({ variant: "m", kind: "generate", prompt: "1", sampling: {} });
    const b = deriveCacheKey({ variant: "m", kind: "generate", prompt: "1", sampling: { x: undefined } });
    const c = deriveCacheKey({ variant: "m", kind: "generate", messages: ["1"], sampling: {} });
    const d = deriveCacheKey({ variant: "m", kind: "generate", sampling: { seed: "1" } });
    const e = deriveCacheKey({ variant: "m", kind: "generate", sampling: { seed: 1 } });
    expect(a).toBe(b);
    expect(new Set([a, c, d, e]).size).toBe(4);
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every depth and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: null } })).toBe('{"a":{"c":null,"d":[3,1]},"b":1}');
  });
  it("tells NaN and Infinity from null", () => {
    expect(canonicalJson(Number.NaN)).not.toBe(canonicalJson(null));
    expect(canonicalJson(Infinity)).not.toBe(canonicalJson(-Infinity));
  });
  it("escapes strings so keys cannot be forged by content", () => {
    expect(canonicalJson({ a: '","b":"x' })).not.toBe(canonicalJson({ a: "", b: "x" }));
  });
});

describe("verbatim", () => {
  const call = (args: Record<string, unknown>): CacheKeyParts => ({
    ...base,
    messages: [{ role: "assistant", content: "", toolCalls: [{ id: "c1", name: "f", arguments: verbatim(args) }] }],
  });

  it("keeps the key order of JSON that reaches the prompt as text", () => {
    expect(deriveCacheKey(call({ zeta: "v", alpha: "q" }))).not.toBe(deriveCacheKey(call({ alpha: "q", zeta: "v" })));
    expect(deriveCacheKey(call({ zeta: "v", alpha: "q" }))).toBe(deriveCacheKey(call({ zeta: "v", alpha: "q" })));
  });

  it("cannot be forged by a string or an object of the same text", () => {
    const json = JSON.stringify({ a: 1 });
    const forms = [verbatim({ a: 1 }), json, { a: 1 }, `~${JSON.stringify(json)}`].map((v) =>
      deriveCacheKey({ ...base, extra: { v } }),
    );
    expect(new Set(forms).size).toBe(forms.length);
  });

  it("leaves undefined undefined", () => {
    expect(verbatim(undefined)).toBeUndefined();
  });
});
