// Structured output, tools and the Responses API through the clients agents use (openai responses, ollama,
// LangChain, the Vercel AI SDK), unmodified, against the real server on the tiny random-weight model.
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { ChatOllama } from "@langchain/ollama";
import { ChatOpenAI } from "@langchain/openai";
import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { tool as langchainTool } from "@langchain/core/tools";
import { generateObject, generateText, Output, streamText, tool } from "ai";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { RunningServer } from "../src/main.ts";
import { TINY } from "./support/server-fixture.ts";
import { Person, startStructuredServer, Weather, type StructuredServer } from "./support/structured-fixture.ts";

let live: StructuredServer;
let server: RunningServer;
let openai: OpenAI;
const weatherJsonSchema = z.toJSONSchema(Weather) as Record<string, unknown>;

beforeAll(async () => {
  live = await startStructuredServer();
  ({ server, openai } = live);
});

afterAll(async () => {
  await live?.close();
});

describe("openai: Responses API", () => {
  it("responses.create with text input and instructions", async () => {
    const r = await openai.responses.create({
      model: TINY,
      input: "Hello",
      instructions: "Be brief",
      max_output_tokens: 8,
    });
    expect(["completed", "incomplete"]).toContain(r.status);
    expect(typeof r.output_text).toBe("string");
    expect(r.usage!.output_tokens).toBeGreaterThan(0);
    expect(r.usage!.output_tokens).toBeLessThanOrEqual(8);
  });

  it("responses.stream accumulates the streamed text into the final response", async () => {
    const stream = openai.responses.stream({
      model: TINY,
      input: [{ role: "user", content: "Hello" }],
      max_output_tokens: 10,
    });
    let deltas = "";
    stream.on("response.output_text.delta", (e) => (deltas += e.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(deltas);
    expect(deltas.length).toBeGreaterThan(0);
  });

  it("text.format json_schema gives parsed output (create and parse)", async () => {
    const r = await openai.responses.parse({
      model: TINY,
      input: "Describe a person",
      text: { format: zodTextFormat(Person, "person") },
    });
    expect(Person.parse(r.output_parsed)).toEqual(r.output_parsed);
  });

  it("a function tool with a forced call, then its function_call_output, streamed", async () => {
    const tools: OpenAI.Responses.FunctionTool[] = [
      { type: "function", name: "get_weather", parameters: weatherJsonSchema, strict: true, description: "Weather" },
    ];
    const r = await openai.responses.create({
      model: TINY,
      input: "Weather in Paris?",
      tools,
      tool_choice: "required",
    });
    const call = r.output.find((o) => o.type === "function_call");
    if (call?.type !== "function_call") throw new Error("no function call");
    expect(Weather.parse(JSON.parse(call.arguments))).toBeTruthy();
    const stream = openai.responses.stream({
      model: TINY,
      input: [
        { role: "user", content: "Weather in Paris?" },
        { type: "function_call", call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: "function_call_output", call_id: call.call_id, output: '{"temperature": 21}' },
      ],
      tools,
      max_output_tokens: 8,
    });
    const final = await stream.finalResponse();
    expect(final.usage!.input_tokens).toBeGreaterThan(0);
  });

  it("previous_response_id is a 400 saying the server is stateless", async () => {
    await expect(
      openai.responses.create({ model: TINY, input: "x", previous_response_id: "resp_1" }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining("keeps no responses") });
  });
});

describe("ollama client", () => {
  const ollama = () => new Ollama({ host: server.url });

  it("chat({format: schema}) parses and validates, streamed and not", async () => {
    const r = await ollama().chat({
      model: TINY,
      messages: [{ role: "user", content: "A person" }],
      format: z.toJSONSchema(Person),
    });
    expect(Person.parse(JSON.parse(r.message.content))).toBeTruthy();
    const s = await ollama().chat({
      model: TINY,
      messages: [{ role: "user", content: "A person" }],
      format: "json",
      stream: true,
    });
    let text = "";
    for await (const part of s) text += part.message.content;
    expect(typeof JSON.parse(text)).toBe("object");
  });

  it("generate({format}) and logprobs", async () => {
    const r = await ollama().generate({ model: TINY, prompt: "A person", format: z.toJSONSchema(Person) });
    expect(Person.parse(JSON.parse(r.response ?? ""))).toBeTruthy();
    const l = (await ollama().generate({
      model: TINY,
      prompt: "Hi",
      options: { num_predict: 3 },
      ...({ logprobs: true } as object),
    })) as unknown as { logprobs: { logprob: number }[]; eval_count: number };
    expect(l.logprobs).toHaveLength(l.eval_count);
    // (The message's wording is the Ollama error shape's business; the status says it is the request.)
    await expect(ollama().generate({ model: TINY, prompt: "x", format: "yaml" })).rejects.toMatchObject({
      status_code: 400,
    });
  });

  it("chat({tools}) with a forced call returns message.tool_calls", async () => {
    const r = await ollama().chat({
      model: TINY,
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [
        {
          type: "function",
          function: { name: "get_weather", description: "Weather", parameters: weatherJsonSchema as never },
        },
      ],
      // Reflexia's extension: Ollama has no way to force a call.
      ...({ tool_choice: "required" } as object),
    });
    const call = r.message.tool_calls![0];
    expect(call.function.name).toBe("get_weather");
    expect(Weather.parse(call.function.arguments)).toBeTruthy();
  });

  it("chat({tools}) streamed with tool_choice auto: a text reply streams as it comes, the same text as unstreamed", async () => {
    const ask = {
      model: TINY,
      messages: [{ role: "user" as const, content: "Tell me a story" }],
      tools: [
        {
          type: "function",
          function: { name: "get_weather", description: "Weather", parameters: weatherJsonSchema as never },
        },
      ],
      options: { seed: 7, temperature: 0.8, num_predict: 48 },
    };
    // Streamed first: the unstreamed repeat is then the response cache's hit, the same text in one piece.
    let live = "";
    let atEnd = "";
    for await (const part of await ollama().chat({ ...ask, stream: true }))
      if (part.done) atEnd += part.message.content;
      else live += part.message.content;
    const whole = await ollama().chat({ ...ask, stream: false });
    expect(whole.message.tool_calls).toBeUndefined();
    // This seed's reply is text that opens no call (a reply opening with { or [ would wait for the end, as a call).
    expect(whole.message.content.trimStart()).not.toMatch(/^[[{]/);
    // The text went out before the final line (it used to be held back whole and sent in that line); at most a
    // tail that could open a call (such as a last "<") waits for it.
    expect(live + atEnd).toBe(whole.message.content);
    expect(atEnd.length).toBeLessThan(12);
    expect(live.length).toBeGreaterThan(whole.message.content.length / 2);
  });

  it("chat({tools}) whose parameters $ref their $defs: a forced call validates", async () => {
    const parameters = {
      type: "object",
      properties: { where: { $ref: "#/$defs/Place" } },
      required: ["where"],
      additionalProperties: false,
      $defs: { Place: { type: "string", enum: ["Paris", "Rome"] } },
    };
    const r = await ollama().chat({
      model: TINY,
      messages: [{ role: "user", content: "Weather?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: parameters as never } }],
      ...({ tool_choice: "required" } as object),
    });
    const call = r.message.tool_calls![0];
    expect(call.function.name).toBe("get_weather");
    expect(["Paris", "Rome"]).toContain(call.function.arguments.where);
  });

  it("logprobs", async () => {
    const r = (await ollama().chat({
      model: TINY,
      messages: [{ role: "user", content: "Hi" }],
      options: { num_predict: 4 },
      ...({ logprobs: true, top_logprobs: 2 } as object),
    })) as unknown as { logprobs: { logprob: number; top_logprobs: unknown[] }[]; eval_count: number };
    expect(r.logprobs).toHaveLength(r.eval_count);
    expect(r.logprobs[0].top_logprobs).toHaveLength(2);
  });
});

describe("LangChain", () => {
  const chatOpenAI = () =>
    new ChatOpenAI({ model: TINY, apiKey: "unused", configuration: { baseURL: `${server.url}/v1` }, maxRetries: 0 });

  it("ChatOpenAI.withStructuredOutput(zod), json schema and function calling", async () => {
    for (const method of ["jsonSchema", "functionCalling"] as const) {
      const out = await chatOpenAI().withStructuredOutput(Person, { method }).invoke("Describe a person");
      expect(Person.parse(out)).toEqual(out);
    }
  });

  it("ChatOpenAI.bindTools with a forced tool choice", async () => {
    const weather = langchainTool(async () => "sunny", {
      name: "get_weather",
      description: "Weather",
      schema: Weather,
    });
    const msg = await chatOpenAI().bindTools([weather], { tool_choice: "get_weather" }).invoke("Weather in Paris?");
    expect(msg.tool_calls?.[0]?.name).toBe("get_weather");
    expect(Weather.parse(msg.tool_calls![0].args)).toBeTruthy();
  });

  it("ChatOllama with format and with tools", async () => {
    const llm = new ChatOllama({ model: TINY, baseUrl: server.url, numPredict: 200 });
    const out = await llm.withStructuredOutput(Person).invoke("Describe a person");
    expect(Person.parse(out)).toEqual(out);
    const weather = langchainTool(async () => "sunny", {
      name: "get_weather",
      description: "Weather",
      schema: Weather,
    });
    const msg = await new ChatOllama({ model: TINY, baseUrl: server.url, numPredict: 8 })
      .bindTools([weather])
      .invoke("Weather in Paris?");
    expect(Array.isArray(msg.tool_calls)).toBe(true);
  });

  it("a ChatOllama tool loop: the call it sends back (id, type) and the tool's result take a second turn", async () => {
    const weather = langchainTool(async () => "sunny", {
      name: "get_weather",
      description: "Weather",
      schema: Weather,
    });
    const llm = new ChatOllama({ model: TINY, baseUrl: server.url, numPredict: 8 }).bindTools([weather]);
    const history = [
      new HumanMessage("Weather in Paris?"),
      // As ChatOllama returned it: no text, one call with LangChain's id (sent back as {id, type, function}).
      new AIMessage({
        content: "",
        tool_calls: [{ id: "call_7", name: "get_weather", args: { city: "Paris", unit: "c" }, type: "tool_call" }],
      }),
      new ToolMessage({ content: "sunny", tool_call_id: "call_7" }),
    ];
    const second = await llm.invoke(history);
    expect(second.response_metadata.done).toBe(true);
  });
});

describe("Vercel AI SDK", () => {
  const compatible = () =>
    createOpenAICompatible({ name: "reflexia", baseURL: `${server.url}/v1`, supportsStructuredOutputs: true });

  it("generateObject with the openai-compatible provider", async () => {
    const { object } = await generateObject({ model: compatible()(TINY), schema: Person, prompt: "Describe a person" });
    expect(Person.parse(object)).toEqual(object);
  });

  it("generateText with tools and toolChoice required", async () => {
    const r = await generateText({
      model: compatible()(TINY),
      prompt: "Weather in Paris?",
      tools: { get_weather: tool({ description: "Weather", inputSchema: Weather }) },
      toolChoice: "required",
    });
    expect(r.toolCalls[0].toolName).toBe("get_weather");
    expect(Weather.parse(r.toolCalls[0].input)).toBeTruthy();
  });

  it("the default @ai-sdk/openai provider (Responses API): generateText, streamText, structured output", async () => {
    const provider = createOpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused" });
    const g = await generateText({ model: provider(TINY), prompt: "Hello", maxOutputTokens: 8 });
    expect(g.usage.outputTokens).toBeGreaterThan(0);
    const s = streamText({ model: provider(TINY), prompt: "Hello", maxOutputTokens: 8 });
    let text = "";
    for await (const t of s.textStream) text += t;
    expect(text).toBe(await s.text);
    expect(text.length).toBeGreaterThan(0);
    const o = await generateText({
      model: provider(TINY),
      prompt: "A person",
      output: Output.object({ schema: Person }),
    });
    expect(Person.parse(o.output)).toEqual(o.output);
  });
});
