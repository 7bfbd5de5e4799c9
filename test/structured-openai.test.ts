// Structured output, tool calling, logprobs and n through the unmodified `openai` npm client against the real server
// on the tiny random-weight model: every reply must parse and validate even though the model's text is noise.
import OpenAI from "openai";
import { zodFunction, zodResponseFormat } from "openai/helpers/zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { TINY } from "./support/server-fixture.ts";
import { Person, startStructuredServer, Weather, type StructuredServer } from "./support/structured-fixture.ts";

let live: StructuredServer;
let openai: OpenAI;

beforeAll(async () => {
  live = await startStructuredServer();
  ({ openai } = live);
});

afterAll(async () => {
  await live?.close();
});

describe("openai: structured output", () => {
  it("chat.completions.parse(zodResponseFormat) returns a parsed, valid object", async () => {
    for (const seed of [1, 2, 3]) {
      const r = await openai.chat.completions.parse({
        model: TINY,
        messages: [{ role: "user", content: "Describe a person" }],
        response_format: zodResponseFormat(Person, "person"),
        seed,
      });
      const parsed = r.choices[0].message.parsed;
      expect(Person.parse(parsed)).toEqual(parsed);
    }
  });

  it("json_object mode returns a JSON object", async () => {
    const r = await openai.chat.completions.create({
      model: TINY,
      messages: [{ role: "user", content: "Reply in JSON" }],
      response_format: { type: "json_object" },
      seed: 5,
    });
    const v = JSON.parse(r.choices[0].message.content!);
    expect(typeof v).toBe("object");
    expect(Array.isArray(v)).toBe(false);
  });

  it("a raw GBNF grammar constrains the output", async () => {
    const r = await openai.chat.completions.create({
      model: TINY,
      messages: [{ role: "user", content: "yes or no?" }],
      // @ts-expect-error llama-server's extension
      grammar: 'root ::= ("yes" | "no") "!"',
    });
    expect(["yes!", "no!"]).toContain(r.choices[0].message.content);
  });

  it("an invalid schema or grammar is a 400 naming the problem", async () => {
    const bad = openai.chat.completions.create({
      model: TINY,
      messages: [{ role: "user", content: "x" }],
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "strin" } } },
    });
    await expect(bad).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/schema.*strin/s) });
    const badGrammar = openai.chat.completions.create({
      model: TINY,
      messages: [{ role: "user", content: "x" }],
      // @ts-expect-error llama-server's extension
      grammar: "root ::= missing",
    });
    await expect(badGrammar).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/missing/) });
  });
});

describe("openai: tools", () => {
  const tools = [zodFunction({ name: "get_weather", parameters: Weather, description: "Weather in a city" })];

  it("tool_choice required returns a call whose arguments validate", async () => {
    const r = await openai.chat.completions.create({
      model: TINY,
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools,
      tool_choice: "required",
      seed: 9,
    });
    const c = r.choices[0];
    expect(c.finish_reason).toBe("tool_calls");
    const call = c.message.tool_calls![0];
    expect(call.type).toBe("function");
    if (call.type !== "function") throw new Error("not a function call");
    expect(call.function.name).toBe("get_weather");
    expect(Weather.parse(JSON.parse(call.function.arguments))).toBeTruthy();
  });

  it("the streamed call accumulates to the same call", async () => {
    const req = {
      model: TINY,
      messages: [{ role: "user" as const, content: "Weather in Paris?" }],
      tools,
      tool_choice: { type: "function" as const, function: { name: "get_weather" } },
      seed: 9,
      temperature: 0,
    };
    const plain = await openai.chat.completions.create(req);
    const stream = openai.chat.completions.stream(req);
    const final = await stream.finalChatCompletion();
    const a = plain.choices[0].message.tool_calls![0];
    const b = final.choices[0].message.tool_calls![0];
    if (a.type !== "function" || b.type !== "function") throw new Error("not function calls");
    expect(b.function.name).toBe(a.function.name);
    expect(JSON.parse(b.function.arguments)).toEqual(JSON.parse(a.function.arguments));
    expect(final.choices[0].finish_reason).toBe("tool_calls");
  });

  it("tool_choice auto, streamed: the content deltas make the unstreamed reply (chat and Responses)", async () => {
    const responsesTools = [
      {
        type: "function",
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        strict: false,
      },
    ];
    for (const seed of [7, 8]) {
      const req = {
        model: TINY,
        messages: [{ role: "user" as const, content: "Tell me a story" }],
        tools,
        seed,
        temperature: 0.8,
        max_tokens: 48,
      };
      // Streamed first (the unstreamed repeat is then the response cache's hit of the same text).
      let text = "";
      for await (const c of await openai.chat.completions.create({ ...req, stream: true }))
        text += c.choices[0]?.delta?.content ?? "";
      const plain = await openai.chat.completions.create(req);
      expect(text).toBe(plain.choices[0].message.content ?? "");
      const ask = {
        model: TINY,
        input: "Tell me a story",
        tools: responsesTools,
        seed,
        temperature: 0.8,
        max_output_tokens: 48,
      };
      const events: string[] = [];
      let deltas = "";
      for await (const e of (await openai.responses.create({
        ...ask,
        stream: true,
      } as never)) as unknown as AsyncIterable<{
        type: string;
        delta?: string;
        response?: { output_text?: string };
      }>) {
        events.push(e.type);
        if (e.type === "response.output_text.delta") deltas += e.delta;
      }
      const whole = await openai.responses.create(ask as never);
      expect(deltas).toBe((whole as { output_text: string }).output_text);
      // The message item opens once, before its first delta.
      expect(events.filter((t) => t === "response.output_item.added").length).toBeGreaterThanOrEqual(1);
      expect(events.indexOf("response.output_item.added")).toBeLessThan(events.indexOf("response.output_text.delta"));
    }
  });

  it("a tool-result round trip is accepted", async () => {
    const r = await openai.chat.completions.create({
      model: TINY,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris","unit":"c"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: '{"temperature": 21}' },
      ],
      tools,
      max_tokens: 8,
    });
    expect(["stop", "length", "tool_calls"]).toContain(r.choices[0].finish_reason);
    expect(r.usage!.prompt_tokens).toBeGreaterThan(0);
  });

  // zodFunction writes a recursive schema's parts to `definitions` (`#/definitions/__schema0`); hand-written schemas use
  // `$defs`. Two tools defining the same name differently must each get their own.
  const TreeNode: z.ZodType<{ label: string; children: unknown[] }> = z.lazy(() =>
    z.object({ label: z.string(), children: z.array(TreeNode) }),
  );
  const Tree = z.object({ root: TreeNode });
  const refTools: OpenAI.ChatCompletionFunctionTool[] = [
    zodFunction({ name: "tree", parameters: Tree, description: "A tree" }),
    {
      type: "function",
      function: {
        name: "pick",
        parameters: {
          type: "object",
          properties: { p: { $ref: "#/$defs/P" } },
          required: ["p"],
          additionalProperties: false,
          $defs: { P: { type: "string", enum: ["x", "y"] } },
        },
      },
    },
    {
      type: "function",
      function: {
        name: "count",
        parameters: {
          type: "object",
          properties: { p: { $ref: "#/$defs/P" } },
          required: ["p"],
          additionalProperties: false,
          $defs: { P: { type: "integer" } },
        },
      },
    },
  ];
  const argsMatch = (name: string, args: unknown) => {
    if (name === "tree") return Tree.parse(args);
    const p = (args as { p: unknown }).p;
    if (name === "pick") expect(["x", "y"]).toContain(p);
    else expect(Number.isInteger(p)).toBe(true);
    return args;
  };

  it("tool parameters with $ref into $defs or definitions: required, named and auto all answer, calls validate", async () => {
    const choices: ("required" | OpenAI.ChatCompletionNamedToolChoice)[] = [
      "required",
      { type: "function", function: { name: "tree" } },
      { type: "function", function: { name: "pick" } },
      { type: "function", function: { name: "count" } },
    ];
    for (const [k, tool_choice] of choices.entries()) {
      const r = await openai.chat.completions.create({
        model: TINY,
        messages: [{ role: "user", content: "Call a tool" }],
        tools: refTools,
        tool_choice,
        seed: 11 + k,
        max_tokens: 120,
      });
      const call = r.choices[0].message.tool_calls![0];
      if (call.type !== "function") throw new Error("not a function call");
      if (typeof tool_choice === "object") expect(call.function.name).toBe(tool_choice.function.name);
      expect(argsMatch(call.function.name, JSON.parse(call.function.arguments))).toBeTruthy();
    }
    const auto = await openai.chat.completions.create({
      model: TINY,
      messages: [{ role: "user", content: "Call a tool" }],
      tools: refTools,
      tool_choice: "auto",
      seed: 3,
      max_tokens: 40,
    });
    for (const call of auto.choices[0].message.tool_calls ?? [])
      if (call.type === "function") argsMatch(call.function.name, JSON.parse(call.function.arguments));
    // A ref that does not resolve is still a 400, naming the ref as the client wrote it and whose it is.
    await expect(
      openai.chat.completions.create({
        model: TINY,
        messages: [{ role: "user", content: "x" }],
        tools: [{ type: "function", function: { name: "bad", parameters: { $ref: "#/$defs/Missing" } } }],
        tool_choice: "required",
      }),
    ).rejects.toMatchObject({
      status: 400,
      param: "tools",
      message: expect.stringMatching(/ref #\/\$defs\/Missing.*function bad/s),
    });
  });

  it("a tool_choice naming an unknown function is a 400", async () => {
    await expect(
      openai.chat.completions.create({
        model: TINY,
        messages: [{ role: "user", content: "x" }],
        tools,
        tool_choice: { type: "function", function: { name: "nope" } },
      }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining("nope") });
  });
});

describe("openai: logprobs and n", () => {
  it("logprobs with top_logprobs of the asked length, streamed and not", async () => {
    const r = await openai.chat.completions.create({
      model: TINY,
      messages: [{ role: "user", content: "Hi" }],
      logprobs: true,
      top_logprobs: 3,
      max_tokens: 6,
    });
    const content = r.choices[0].logprobs!.content!;
    expect(content.length).toBe(r.usage!.completion_tokens);
    for (const t of content) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top_logprobs).toHaveLength(3);
      expect(t.top_logprobs[0].logprob).toBeGreaterThanOrEqual(t.top_logprobs[2].logprob);
    }
    const stream = await openai.chat.completions.create({
      model: TINY,
      messages: [{ role: "user", content: "Hi" }],
      logprobs: true,
      top_logprobs: 2,
      max_tokens: 6,
      stream: true,
    });
    let n = 0;
    for await (const chunk of stream) {
      for (const t of chunk.choices[0]?.logprobs?.content ?? []) {
        n++;
        expect(t.top_logprobs).toHaveLength(2);
      }
    }
    expect(n).toBeGreaterThan(0);
  });

  it("seed: -1 is random (llama.cpp's default seed), any other integer is taken modulo 2^32 as llama-server does", async () => {
    const ask = { model: TINY, messages: [{ role: "user" as const, content: "Hi" }], max_tokens: 12, temperature: 1.5 };
    const text = async (seed: number) =>
      (await openai.chat.completions.create({ ...ask, seed })).choices[0].message.content;
    const fixed = await text(5);
    expect(await text(5 + 2 ** 32)).toBe(fixed);
    expect(await text(5 - 2 ** 32)).toBe(fixed);
    expect(new Set([await text(-1), await text(-1), await text(-1)]).size).toBeGreaterThan(1);
    // Ollama's default seed is -1 too (random): taken, not refused.
    const ollama = async () =>
      (await (
        await fetch(`${live.server.url}/api/generate`, {
          method: "POST",
          body: JSON.stringify({
            model: TINY,
            prompt: "Hi",
            stream: false,
            options: { seed: -1, temperature: 1.5, num_predict: 12 },
          }),
        })
      ).json()) as { response?: string; error?: string };
    const outs = [await ollama(), await ollama(), await ollama()];
    expect(outs.map((o) => o.error)).toEqual([undefined, undefined, undefined]);
    expect(new Set(outs.map((o) => o.response)).size).toBeGreaterThan(1);
  });

  it("bytes are each token's own: a token holding part of a character gives its byte, not U+FFFD's", async () => {
    // The vocabulary's byte tokens (byte fallback), found by name in the GGUF's token list.
    const show = (await (
      await fetch(`${live.server.url}/api/show`, {
        method: "POST",
        body: JSON.stringify({ model: TINY, verbose: true }),
      })
    ).json()) as { model_info: Record<string, unknown> };
    const tokens = show.model_info["tokenizer.ggml.tokens"] as string[];
    const lead = tokens.indexOf("<0xC5>"); // the first byte of "Ń" (C5 83), a character on its own no token holds
    expect(lead).toBeGreaterThan(0);
    const ask = { model: TINY, messages: [{ role: "user" as const, content: "Hi" }], max_tokens: 2, temperature: 0 };
    const r = await openai.chat.completions.create({
      ...ask,
      logit_bias: { [lead]: 100 },
      logprobs: true,
      top_logprobs: 2,
    });
    const content = r.choices[0].logprobs!.content!;
    expect(content.map((t) => t.bytes)).toEqual([[0xc5], [0xc5]]);
    expect(content[0].top_logprobs[0].bytes).toEqual([0xc5]);
    // Ollama's logprobs carry the tokens' own bytes too (it has no logit_bias): sampled hot, byte tokens come up,
    // and each shows U+FFFD as its text but its one byte in bytes.
    let split: { token: string; bytes: number[] } | undefined;
    for (let seed = 1; seed <= 10 && !split; seed++) {
      const o = (await (
        await fetch(`${live.server.url}/api/generate`, {
          method: "POST",
          body: JSON.stringify({
            model: TINY,
            prompt: "Hi",
            raw: true,
            stream: false,
            logprobs: true,
            options: { num_predict: 32, temperature: 1.5, seed },
          }),
        })
      ).json()) as { logprobs: { token: string; bytes: number[] }[] };
      split = o.logprobs.find((t) => t.token === "\uFFFD");
    }
    expect(split).toBeDefined();
    expect(split!.bytes).toHaveLength(1);
    expect(split!.bytes[0]).toBeGreaterThanOrEqual(0x80);
  });

  it("logit_bias, frequency_penalty and presence_penalty are honoured (and a bad logit_bias is a 400 by name)", async () => {
    // A token id and its text: Ollama's /api/generate returns the prompt's and answer's ids as `context`.
    const g = (await (
      await fetch(`${live.server.url}/api/generate`, {
        method: "POST",
        body: JSON.stringify({
          model: TINY,
          prompt: "Hello there",
          raw: true,
          stream: false,
          options: { num_predict: 1 },
        }),
      })
    ).json()) as { context: number[] };
    const id = g.context[g.context.length - 2];
    const ask = { model: TINY, messages: [{ role: "user" as const, content: "Hi" }], max_tokens: 5, temperature: 0 };
    const forced = await openai.chat.completions.create({ ...ask, logit_bias: { [id]: 100 }, logprobs: true });
    const pieces = forced.choices[0].logprobs!.content!.map((t) => t.token);
    expect(pieces).toHaveLength(5);
    expect(new Set(pieces).size).toBe(1);
    const plain = await openai.chat.completions.create({ ...ask, logprobs: true, top_logprobs: 2 });
    const penalized = await openai.chat.completions.create({
      ...ask,
      logprobs: true,
      top_logprobs: 2,
      frequency_penalty: 2,
      presence_penalty: 2,
    });
    expect(penalized.choices[0].logprobs!.content).not.toEqual(plain.choices[0].logprobs!.content);
    for (const logit_bias of [{ hello: -1 }, { [id]: 101 }, { "99999999": 1 }] as Record<string, number>[]) {
      const bad = await openai.chat.completions.create({ ...ask, logit_bias }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
      expect((bad as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/logit_bias/);
    }
    // An OpenAI argument this server does not implement is refused by name, not ignored; so is a stored response.
    const effort = await openai.chat.completions.create({ ...ask, reasoning_effort: "low" }).catch((e: unknown) => e);
    expect(effort).toBeInstanceOf(OpenAI.BadRequestError);
    expect((effort as Error).message).toContain('"reasoning_effort" not supported here');
    const stored = await openai.responses.create({ model: TINY, input: "Hi", store: true }).catch((e: unknown) => e);
    expect(stored).toBeInstanceOf(OpenAI.BadRequestError);
    expect((stored as Error).message).toContain("store: true is not supported");
  });

  it("n: 2 gives two choices, streamed and not", async () => {
    const r = await openai.chat.completions.create({
      model: TINY,
      messages: [{ role: "user", content: "Hi" }],
      n: 2,
      max_tokens: 5,
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1]);
    // The prompt is evaluated once: the second choice takes all of it but its last token from the first's sequence.
    const shared = await openai.chat.completions.create({
      model: TINY,
      messages: [
        { role: "user", content: "Tell me, in a few words, what the two choices of n share with each other." },
      ],
      n: 2,
      max_tokens: 3,
    });
    const perChoice = shared.usage!.prompt_tokens / 2;
    expect(shared.usage!.prompt_tokens_details?.cached_tokens).toBeGreaterThanOrEqual(perChoice - 1);
    const stream = openai.chat.completions.stream({
      model: TINY,
      messages: [{ role: "user", content: "Hi" }],
      n: 2,
      max_tokens: 5,
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices.map((c) => c.index).sort()).toEqual([0, 1]);
  });
});

describe("openai: completions and embeddings", () => {
  it("a prompt array gives one choice per prompt (times n), echo prepends the prompt", async () => {
    const r = await openai.completions.create({
      model: TINY,
      prompt: ["Once upon", "In a galaxy"],
      n: 2,
      max_tokens: 4,
      echo: true,
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(r.choices[0].text.startsWith("Once upon")).toBe(true);
    expect(r.choices[3].text.startsWith("In a galaxy")).toBe(true);
    const s = await openai.completions.create({ model: TINY, prompt: ["a", "b"], max_tokens: 3, stream: true });
    const seen = new Set<number>();
    for await (const chunk of s) for (const c of chunk.choices) seen.add(c.index);
    expect([...seen].sort()).toEqual([0, 1]);
  });

  it("logprobs in the legacy shape", async () => {
    const r = await openai.completions.create({ model: TINY, prompt: "Hi", max_tokens: 4, logprobs: 2 });
    const lp = r.choices[0].logprobs!;
    expect(lp.tokens!.length).toBe(r.usage!.completion_tokens);
    expect(lp.token_logprobs!.length).toBe(lp.tokens!.length);
    expect(Object.keys(lp.top_logprobs![0]).length).toBeGreaterThanOrEqual(1);
  });

  it("suffix on a model with fill-in-the-middle tokens: the same FIM prompt on /v1/completions and /api/generate", async () => {
    await live.store.synth({ shape: "tiny", quant: ["q8_0"], name: "reflexia-fim", seed: 7, fim: true });
    const model = "reflexia-fim:q8_0";
    const ask = { prompt: "def area(r):\n    ", suffix: "\n    return a", max_tokens: 6, temperature: 0 };
    const plain = await openai.completions.create({ model, prompt: ask.prompt, max_tokens: 6, temperature: 0 });
    const fim = await openai.completions.create({ model, ...ask });
    // The three FIM markers frame prefix and suffix: more prompt tokens than the prefix alone, and text comes back.
    expect(fim.usage!.prompt_tokens).toBeGreaterThan(plain.usage!.prompt_tokens + 3);
    expect(fim.choices[0].text.length).toBeGreaterThan(0);
    const res = await fetch(`${live.server.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({
        model,
        prompt: ask.prompt,
        suffix: ask.suffix,
        stream: false,
        options: { num_predict: 6, temperature: 0 },
      }),
    });
    expect(res.status).toBe(200);
    const ollama = (await res.json()) as { response: string };
    // The same prompt evaluated (whatever the prefix cache held of it) and the same greedy answer.
    expect(ollama.response).toBe(fim.choices[0].text);
  });

  it("refusals are sentences in the RFX shape: suffix without FIM tokens, token prompts, best_of, dimensions", async () => {
    const cases: [() => Promise<unknown>, RegExp][] = [
      [
        () => openai.completions.create({ model: TINY, prompt: "def f(", suffix: "return x", max_tokens: 4 }),
        /fill-in-the-middle/,
      ],
      [() => openai.completions.create({ model: TINY, prompt: [1, 2, 3], max_tokens: 4 }), /token-id prompts/],
      [() => openai.completions.create({ model: TINY, prompt: "x", best_of: 3, max_tokens: 4 }), /best_of/],
      [() => openai.completions.create({ model: TINY, prompt: [], max_tokens: 4 }), /non-empty array/],
      [
        () => openai.embeddings.create({ model: "builtin", input: "hello", dimensions: 7 }),
        /dimensions 7 is not supported/,
      ],
      [
        () => openai.chat.completions.create({ model: TINY, messages: [{ role: "user", content: "x" }], n: 99 }),
        /at most 8/,
      ],
    ];
    for (const [p, message] of cases) {
      const e = (await p().then(
        () => null,
        (err: unknown) => err,
      )) as { status: number; error: { code: string; message: string } } | null;
      expect(e?.status).toBe(400);
      expect(e?.error.code).toBe("RFX_VALIDATION");
      expect(e?.error.message).toMatch(message);
    }
  });
});
