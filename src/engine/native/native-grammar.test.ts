// Grammar-constrained sampling and log-probabilities in the native sampler chain, on the random-weight tiny model.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isReflexiaError } from "../../errors/index.ts";
import { writeSyntheticModel } from "../../gguf/index.ts";
import { JSON_VALUE_GBNF, jsonSchemaToGbnf } from "../grammar.ts";
import { createNativeEngine, type NativeEngine, type NativeLoadedModel } from "./native-engine.ts";

let dir: string;
let engine: NativeEngine;
let model: NativeLoadedModel;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rfx-grammar-"));
  const path = join(dir, "tiny.gguf");
  await writeSyntheticModel({ path, shape: "tiny", seed: 42 });
  engine = createNativeEngine({ threads: 1 });
  model = await engine.loadModel({ path, parallel: 4, contextSize: 2048 });
});

afterAll(async () => {
  await engine?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const schema = {
  type: "object",
  properties: {
    name: { type: "string" },
    age: { type: "integer" },
    tags: { type: "array", items: { type: "string" } },
    kind: { enum: ["a", "b"] },
  },
  required: ["name", "age", "tags", "kind"],
  additionalProperties: false,
};

function matchesSchema(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return (
    Object.keys(o).sort().join() === "age,kind,name,tags" &&
    typeof o.name === "string" &&
    Number.isInteger(o.age) &&
    Array.isArray(o.tags) &&
    o.tags.every((t) => typeof t === "string") &&
    (o.kind === "a" || o.kind === "b")
  );
}

describe("native engine: grammar", () => {
  it("every reply parses and matches the schema: greedy, sampled, hot, and short budgets", async () => {
    const gbnf = jsonSchemaToGbnf(schema);
    const runs = [
      { temperature: 0, maxTokens: 300 },
      ...[1, 2, 3, 4, 5].map((seed) => ({ temperature: 0.8, maxTokens: 200, seed })),
      { temperature: 1.5, maxTokens: 120, seed: 6 },
      { temperature: 0.8, maxTokens: 60, seed: 7 },
    ];
    const replies = await Promise.all(
      runs.map((o) =>
        model.chat([{ role: "user", content: "A person please" }], { ...o, grammar: { gbnf, closeJson: true } }),
      ),
    );
    for (const r of replies) {
      expect(matchesSchema(JSON.parse(r.text)), r.text).toBe(true);
      expect(r.completionTokens).toBeLessThanOrEqual(300);
    }
  });

  it("json mode gives an object; raw GBNF is followed exactly", async () => {
    const j = await model.chat([{ role: "user", content: "x" }], {
      grammar: { gbnf: JSON_VALUE_GBNF, closeJson: true },
      seed: 3,
    });
    expect(typeof JSON.parse(j.text)).toBe("object");
    const g = await model.generate("Answer:", { grammar: { gbnf: 'root ::= "yes" | "no" | "maybe"' }, seed: 4 });
    expect(["yes", "no", "maybe"]).toContain(g.text);
    expect(g.finishReason).toBe("stop");
  });

  it("closes JSON only when asked: raw GBNF that allows any text is not ended with brackets", async () => {
    const anyText = { gbnf: "root ::= [^\\x00]*" };
    for (const seed of [1, 2, 3]) {
      const r = await model.generate("Once upon a time", { grammar: anyText, maxTokens: 60, seed, temperature: 0.8 });
      // With the JSON close-out the last quarter would be closing punctuation, since every token is allowed.
      expect(r.text, r.text).not.toMatch(/[}\]"]{6,}\s*$/);
    }
  });

  it("a lazy grammar is free until its trigger matches, then constrains the rest", async () => {
    // llama.cpp matches the trigger on the bytes out so far: it fires on the token that takes the output past 24
    // bytes, and the grammar starts at byte 24. The rest of that token may be anything (at most 16 characters),
    // then only lowercase letters and spaces.
    const lazy = { gbnf: "root ::= [^\\x00]{0,16} [a-z ]*", triggers: ["[\\s\\S]{24}([\\s\\S]+)"] };
    const bytes = (t: string) => Buffer.from(t, "utf8");
    let freeBeforeTrigger = 0;
    let checked = 0;
    for (const seed of [11, 12, 13, 14, 15, 16]) {
      const opts = { maxTokens: 48, seed, temperature: 0.9 };
      const free = await model.generate("Once upon a time", opts);
      const r = await model.generate("Once upon a time", { ...opts, grammar: lazy });
      if (bytes(free.text).length < 24 || bytes(r.text).length < 100) continue;
      checked++;
      // Before the trigger the draws are the unconstrained ones (same seed, same tokens) ...
      expect(bytes(r.text).subarray(0, 24).equals(bytes(free.text).subarray(0, 24))).toBe(true);
      // ... well after it, the grammar holds.
      expect(r.text.slice(-30), r.text).toMatch(/^[a-z ]*$/);
      // An eager grammar would have forbidden these (bytes 16-24 outside [a-z ]).
      if (/[^a-z ]/.test(bytes(free.text).subarray(16, 24).toString("latin1"))) freeBeforeTrigger++;
    }
    expect(checked).toBeGreaterThan(2);
    expect(freeBeforeTrigger).toBeGreaterThan(0);
  });

  it("trigger words watched natively give the same output as the trigger pattern alone", async () => {
    // llama.cpp runs a lazy grammar's trigger pattern over the whole output on every token; with triggerWords the
    // engine finds the word itself and hands the grammar only the tokens from it, which must change nothing.
    let compared = 0;
    for (const seed of [21, 22, 23, 24, 25, 26]) {
      const opts = { maxTokens: 64, seed, temperature: 0.9 };
      const free = await model.generate("Once upon a time", opts);
      // A word the free output first writes well into it (two ASCII letters), so the trigger fires mid-reply.
      const m = /[a-z]{2}/.exec(free.text.slice(12));
      if (!m) continue;
      const word = m[0];
      if (free.text.indexOf(word) < 12) continue;
      const lazy = { gbnf: `root ::= "${word}" [a-z ]*`, triggers: [`[\\s\\S]*?(${word}[\\s\\S]*)`] };
      const byPattern = await model.generate("Once upon a time", { ...opts, grammar: lazy });
      const byWord = await model.generate("Once upon a time", { ...opts, grammar: { ...lazy, triggerWords: [word] } });
      expect(byWord.text).toBe(byPattern.text);
      const from = byWord.text.indexOf(word);
      expect(byWord.text.slice(0, from)).toBe(free.text.slice(0, from));
      expect(byWord.text.slice(from)).toMatch(/^[a-z ]*$/);
      compared++;
    }
    expect(compared).toBeGreaterThan(2);
  });

  it("refuses GBNF that does not parse, naming the problem", async () => {
    const e = await model.generate("x", { grammar: { gbnf: "root ::= nothing-here" } }).catch((err: unknown) => err);
    expect(isReflexiaError(e) && e.code === "RFX_VALIDATION").toBe(true);
    expect((e as Error).message).toContain("nothing-here");
  });

  // Each of these reached llama.cpp's own code and ended the process: a stack overflow in the converter's rule
  // naming (exit 139), or a repetition expanded until the kernel's OOM killer came (22 GB). Refused before it.
  it("refuses a minimum above its maximum wherever it is written, before llama.cpp expands it", async () => {
    const raw = await model.generate("x", { grammar: { gbnf: 'root ::= "a"{5,3}' } }).catch((err: unknown) => err);
    expect((raw as Error).message).toContain("grammar asks for between 5 and 3 repetitions");
    const refusal = (bad: unknown): string => {
      try {
        jsonSchemaToGbnf(bad, "format");
      } catch (err) {
        expect(isReflexiaError(err) && err.code === "RFX_VALIDATION", JSON.stringify(bad)).toBe(true);
        return (err as Error).message;
      }
      return "converted";
    };
    // Named in the schema's terms where the schema says it, else as the repetition the converter wrote.
    expect(refusal({ type: "string", minLength: 5, maxLength: 3 })).toBe(
      "format has minLength 5 above maxLength 3: no value can satisfy it",
    );
    expect(refusal({ type: "array", items: { type: "string" }, minItems: 3, maxItems: 0 })).toBe(
      "format has minItems 3 above maxItems 0: no value can satisfy it",
    );
    expect(refusal({ type: "object", properties: { n: { type: "integer", minimum: 5, maximum: 3 } } })).toMatch(
      /minimum 5 above maximum 3/,
    );
    expect(refusal({ enum: [] })).toBe("format has an empty enum: no value can satisfy it");
    expect(refusal({ type: "string", pattern: "^a{5,3}$" })).toMatch(
      /^format asks for between \d+ and \d+ repetitions \(a minimum above its maximum/,
    );
    // Data is not read as schema: a const holding such keys is a value like any other.
    expect(refusal({ const: { minItems: 5, maxItems: 3, enum: [] } })).toBe("converted");
    // Braces inside literals, character classes and comments are text, not repetitions.
    expect(() => jsonSchemaToGbnf({ type: "string", pattern: "^a{3,5}$" }, "format")).not.toThrow();
    await model.generate("x", { maxTokens: 1, grammar: { gbnf: 'root ::= "{5,3}" [{}] # {9,1}\n' } });
  });

  it("refuses property names and $ref past MAX_SCHEMA_NAME_CHARS before the converter names rules after them", () => {
    const name = "!".repeat(30_000);
    for (const bad of [
      { type: "object", properties: { [name]: { type: "string" } } },
      { $ref: `#/${name}` },
      { type: "array", items: { type: "object", properties: { ok: { type: "object", properties: { [name]: {} } } } } },
      // A property named like a data keyword is still a name → schema map.
      { type: "object", properties: { default: { type: "object", properties: { [name]: {} } } } },
    ]) {
      expect(() => jsonSchemaToGbnf(bad, "response_format")).toThrow(/of 30,?00[0-9] characters; the limit is 1000/);
    }
    const fine = "!".repeat(1000);
    expect(jsonSchemaToGbnf({ type: "object", properties: { [fine]: { type: "string" } } })).toContain("root");
  });
});

describe("native engine: logprobs", () => {
  it("one entry per token; greedy picks the most likely token; alternatives sorted and ≤ 0", async () => {
    const chunks: number[] = [];
    const r = await model.generate("Once upon a time", {
      temperature: 0,
      repeatPenalty: 1,
      maxTokens: 12,
      logprobs: 5,
      onText: (_t, lps) => chunks.push(lps?.length ?? 0),
    });
    const lps = r.logprobs!;
    expect(lps).toHaveLength(r.completionTokens);
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(lps.length);
    expect(lps.map((l) => l.token).join("")).toBe(r.text);
    for (const l of lps) {
      expect(l.top).toHaveLength(5);
      expect(l.logprob).toBeLessThanOrEqual(0);
      for (let i = 1; i < l.top.length; i++) expect(l.top[i - 1].logprob).toBeGreaterThanOrEqual(l.top[i].logprob);
      // Greedy without a penalty samples the argmax, the first alternative.
      expect(l.token).toBe(l.top[0].token);
      expect(l.logprob).toBeCloseTo(l.top[0].logprob, 5);
    }
  });

  it("0 gives the sampled token's log-probability only; out of range is refused", async () => {
    const r = await model.generate("Hi", { maxTokens: 4, logprobs: 0, seed: 1 });
    expect(r.logprobs!.every((l) => l.top.length === 0 && l.logprob <= 0)).toBe(true);
    const e = await model.generate("Hi", { logprobs: 21 }).catch((err: unknown) => err);
    expect(isReflexiaError(e) && e.code === "RFX_VALIDATION").toBe(true);
  });
});
