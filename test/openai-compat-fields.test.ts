// Fields and errors of the OpenAI routes as the real clients send and read them (openai, @langchain/openai, the AI
// SDK), against the live server on the tiny model: each field is honoured or refused by name with a sentence.
import { createOpenAI } from "@ai-sdk/openai";
import { ContextOverflowError } from "@langchain/core/errors";
import { ChatOpenAI } from "@langchain/openai";
import { generateText } from "ai";
import type OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/main.ts";
import { TINY } from "./support/server-fixture.ts";
import { startStructuredServer, type StructuredServer } from "./support/structured-fixture.ts";

let live: StructuredServer;
let server: RunningServer;
let openai: OpenAI;

beforeAll(async () => {
  live = await startStructuredServer();
  ({ server, openai } = live);
});

afterAll(async () => {
  await live?.close();
});

/** The error a call rejects with (null when it succeeds), as the openai client exposes it. */
async function failure(p: Promise<unknown>) {
  return (await p.then(
    () => null,
    (e: unknown) => e,
  )) as { status: number; code: string | null; param: string | null; type: string; message: string } | null;
}

describe("chat completions: store and metadata", () => {
  it("store false or null and metadata are accepted; store true is refused by name", async () => {
    for (const store of [false, null]) {
      const r = await openai.chat.completions.create({
        model: TINY,
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 2,
        store,
        metadata: { session: "s1" },
      });
      expect(r.object).toBe("chat.completion");
    }
    const e = await failure(
      openai.chat.completions.create({ model: TINY, messages: [{ role: "user", content: "Hi" }], store: true }),
    );
    expect(e).toMatchObject({ status: 400, code: "RFX_VALIDATION", param: "store" });
    expect(e?.message).toMatch(/store: true is not supported/);
  });

  it("the AI SDK's openai.chat() with providerOptions.openai.store = false answers", async () => {
    const provider = createOpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused" });
    const r = await generateText({
      model: provider.chat(TINY),
      prompt: "Hi",
      maxOutputTokens: 2,
      providerOptions: { openai: { store: false, metadata: { session: "s1" } } },
    });
    expect(typeof r.text).toBe("string");
  });
});

describe("context overflow as OpenAI's clients recognise it", () => {
  const long = "word ".repeat(6000);

  it("code context_length_exceeded, reflexia_code beside it, a message saying maximum context length", async () => {
    const e = (await failure(
      openai.chat.completions.create({ model: TINY, messages: [{ role: "user", content: long }], max_tokens: 10 }),
    )) as { code: string; error: { reflexia_code: string }; message: string; type: string } | null;
    expect(e).toMatchObject({ status: 400, code: "context_length_exceeded", type: "invalid_request_error" });
    expect(e?.error.reflexia_code).toBe("RFX_CONTEXT_OVERFLOW");
    expect(e?.message).toMatch(
      /maximum context length of a request is 4096 tokens .*a prompt of \d+ tokens plus max_tokens 10/,
    );
    const emb = (await failure(openai.embeddings.create({ model: TINY, input: long }))) as {
      code: string;
      message: string;
    } | null;
    expect(emb).toMatchObject({ status: 400, code: "context_length_exceeded" });
    expect(emb?.message).toMatch(/maximum context length/);
  });

  it("LangChain's ChatOpenAI raises ContextOverflowError", async () => {
    const llm = new ChatOpenAI({
      model: TINY,
      apiKey: "unused",
      configuration: { baseURL: `${server.url}/v1` },
      maxRetries: 0,
    });
    const e = await llm.invoke(long).then(
      () => null,
      (x: unknown) => x,
    );
    expect(ContextOverflowError.isInstance(e)).toBe(true);
  });
});

describe("embeddings input", () => {
  it("token ids and an empty list are refused with a sentence naming input; text lists are embedded", async () => {
    const cases: [OpenAI.EmbeddingCreateParams["input"], RegExp][] = [
      [[1, 2, 3], /input must be text: token-id input is not supported .*send the text/],
      [[[1, 2], [3]], /input must be text: token-id input is not supported/],
      [[], /input must be a string or a non-empty array of strings$/],
    ];
    for (const [input, message] of cases) {
      const e = await failure(openai.embeddings.create({ model: TINY, input }));
      expect(e).toMatchObject({ status: 400, code: "RFX_VALIDATION", param: "input" });
      expect(e?.message).toMatch(message);
    }
    const mixed = await failure(openai.embeddings.create({ model: TINY, input: ["a", 7 as unknown as string] }));
    expect(mixed).toMatchObject({ status: 400, param: "input" });
    const ok = await openai.embeddings.create({ model: TINY, input: ["a", "b"] });
    expect(ok.data).toHaveLength(2);
  });
});

describe("responses: truncation, temperature and top_p echo what applied", () => {
  // Three turns of about 1,800 tokens each do not fit the 4096-token context together; the last one alone does.
  const turns = ["old ", "mid ", "new "].map((w) => ({ role: "user" as const, content: w.repeat(600) }));

  it("truncation: auto drops the oldest turns, disabled refuses with context_length_exceeded, unset follows CONTEXT_OVERFLOW", async () => {
    const auto = await openai.responses.create({ model: TINY, input: turns, truncation: "auto", max_output_tokens: 4 });
    expect(auto.truncation).toBe("auto");
    const dropped = (auto as unknown as { reflexia: { context?: { dropped_messages: number } } }).reflexia.context;
    expect(dropped?.dropped_messages).toBeGreaterThan(0);
    const e = await failure(
      openai.responses.create({ model: TINY, input: turns, truncation: "disabled", max_output_tokens: 4 }),
    );
    expect(e).toMatchObject({ status: 400, code: "context_length_exceeded" });
    const fits = await openai.responses.create({
      model: TINY,
      input: "Hi",
      truncation: "disabled",
      max_output_tokens: 2,
    });
    expect(fits.truncation).toBe("disabled");
    // The server runs with CONTEXT_OVERFLOW=truncate (the default): what an unset truncation does is "auto".
    const unset = await openai.responses.create({ model: TINY, input: "Hi", max_output_tokens: 2 });
    expect(unset.truncation).toBe("auto");
  });

  it("temperature and top_p: the request's, else the model's stored parameter, else the engine's default", async () => {
    const plain = await openai.responses.create({ model: TINY, input: "Hi", max_output_tokens: 2 });
    expect([plain.temperature, plain.top_p]).toEqual([0.8, 0.95]);
    const set = await openai.responses.create({
      model: TINY,
      input: "Hi",
      max_output_tokens: 2,
      temperature: 0.2,
      top_p: 0.5,
    });
    expect([set.temperature, set.top_p]).toEqual([0.2, 0.5]);
    const stream = await openai.responses.create({ model: TINY, input: "Hi", max_output_tokens: 2, stream: true });
    const seen: [number | null, number | null][] = [];
    for await (const ev of stream)
      if (ev.type === "response.created" || ev.type === "response.completed" || ev.type === "response.incomplete")
        seen.push([ev.response.temperature, ev.response.top_p]);
    expect(seen).toEqual([
      [0.8, 0.95],
      [0.8, 0.95],
    ]);
    const created = await fetch(`${server.url}/api/create`, {
      method: "POST",
      body: JSON.stringify({ model: "cool-tiny", from: TINY, parameters: { temperature: 0.3 }, stream: false }),
    });
    expect(created.status).toBe(200);
    const stored = await openai.responses.create({ model: "cool-tiny", input: "Hi", max_output_tokens: 2 });
    expect([stored.temperature, stored.top_p]).toEqual([0.3, 0.95]);
  });
});

describe("chat completions: refusal content parts", () => {
  const ask = (assistant: OpenAI.ChatCompletionAssistantMessageParam) =>
    openai.chat.completions.create({
      model: TINY,
      messages: [{ role: "user", content: "Do the thing" }, assistant, { role: "user", content: "Why not?" }],
      max_tokens: 1,
      temperature: 0,
    });

  it("an assistant's refusal part is that turn's text, rendered as its content", async () => {
    const said = "I cannot help with that.";
    const asPart = await ask({ role: "assistant", content: [{ type: "refusal", refusal: said }] });
    const asText = await ask({ role: "assistant", content: said });
    expect(asPart.usage!.prompt_tokens).toBe(asText.usage!.prompt_tokens);
    const mixed = await ask({
      role: "assistant",
      content: [
        { type: "text", text: "I cannot " },
        { type: "refusal", refusal: "help with that." },
      ],
    });
    expect(mixed.usage!.prompt_tokens).toBe(asText.usage!.prompt_tokens);
  });

  it("a refusal part on another role, or a part's field of the other type, is refused by name", async () => {
    const onUser = await failure(
      openai.chat.completions.create({
        model: TINY,
        messages: [{ role: "user", content: [{ type: "refusal", refusal: "no" } as never] }],
      }),
    );
    expect(onUser).toMatchObject({ status: 400, param: "messages[0].content[0]" });
    expect(onUser?.message).toMatch(/refusal part, which only assistant messages carry \(this one is role user\)/);
    const stray = await failure(
      ask({ role: "assistant", content: [{ type: "refusal", refusal: "no", text: "x" } as never] }),
    );
    expect(stray).toMatchObject({ status: 400, param: "messages[1].content[0].text" });
  });
});

describe("param names the field at fault", () => {
  it("n, dimensions, top_logprobs, a schema or grammar, tool_choice, an input_image part", async () => {
    const user = [{ role: "user" as const, content: "x" }];
    const tools: OpenAI.ChatCompletionFunctionTool[] = [{ type: "function", function: { name: "f" } }];
    const cases: [() => Promise<unknown>, string][] = [
      [() => openai.chat.completions.create({ model: TINY, messages: user, n: 99 }), "n"],
      [() => openai.completions.create({ model: TINY, prompt: "x", n: 99 }), "n"],
      [() => openai.embeddings.create({ model: TINY, input: "hello", dimensions: 7 }), "dimensions"],
      [
        () => openai.chat.completions.create({ model: TINY, messages: user, logprobs: true, top_logprobs: 30 }),
        "top_logprobs",
      ],
      [() => openai.chat.completions.create({ model: TINY, messages: user, top_logprobs: 2 }), "top_logprobs"],
      [
        () =>
          openai.chat.completions.create({
            model: TINY,
            messages: user,
            response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "strin" } } },
          }),
        "response_format.json_schema.schema",
      ],
      [
        () =>
          openai.chat.completions.create({
            model: TINY,
            messages: user,
            // @ts-expect-error llama-server's extension
            grammar: "root ::= missing",
          }),
        "grammar",
      ],
      [
        () =>
          openai.chat.completions.create({
            model: TINY,
            messages: user,
            tools,
            tool_choice: { type: "function", function: { name: "nope" } },
          }),
        "tool_choice",
      ],
      [
        () =>
          openai.responses.create({
            model: TINY,
            input: [
              {
                role: "user",
                content: [
                  { type: "input_text", text: "What is this?" },
                  { type: "input_image", image_url: "https://example.com/a.png", detail: "auto" },
                ],
              },
            ],
          }),
        "input[0].content[1]",
      ],
      [
        () =>
          openai.responses.create({
            model: TINY,
            input: "x",
            text: { format: { type: "json_schema", name: "x", schema: { type: "strin" } } },
          }),
        "text.format.schema",
      ],
    ];
    for (const [p, param] of cases) expect(await failure(p())).toMatchObject({ status: 400, param });
  });
});
