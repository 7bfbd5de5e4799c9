// Every field a client sends is honoured or refused by name: a route whose schema lists its fields answers 400 for
// any other top-level field (body or query string), in its own error shape, before anything runs or is stored;
// fields that ask for what the server cannot do (Responses `store: true`, Ollama `think`) are refused with a reason;
// OpenAI's `user` is honoured as a tag on the request's log lines.
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupTempDirs, makeTempDir, writeTinyGguf } from "./registry-fixtures.ts";
import { createFakeEngine } from "./support/fake-engine.ts";
import { startLoopbackRegistry } from "./support/loopback-registry.ts";
import { buildTestApp, createTinyHome, errorOf, testConfig, TINY, type TinyHome } from "./support/server-fixture.ts";

let home: TinyHome;
beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
});
afterAll(async () => {
  await home?.cleanup();
});

const appWith = (extra: Partial<Parameters<typeof buildTestApp>[0]> = {}) =>
  buildTestApp({ store: home.store, engine: createFakeEngine(), config: testConfig(home.home), ...extra });

/** Sends one body to a fresh app and expects a 400 RFX_VALIDATION naming `named` (in Ollama's shape on its routes). */
async function expectRefused(
  send: (app: Awaited<ReturnType<typeof appWith>>["app"]) => Promise<{ statusCode: number; json(): unknown }>,
  named: string,
  ollama: boolean,
) {
  const { app } = await appWith();
  try {
    const res = await send(app);
    expect(res.statusCode).toBe(400);
    const e = errorOf(res.json());
    expect(e.code).toBe("RFX_VALIDATION");
    expect(e.ollama).toBe(ollama);
    expect(e.message).toContain(named);
  } finally {
    await app.close();
  }
}

const chat = [{ role: "user", content: "hi" }];
// A valid body for each route that lists its fields; the bogus field is added to it.
const ROUTES: { method: "POST" | "DELETE"; url: string; body: Record<string, unknown>; ollama: boolean }[] = [
  { method: "POST", url: "/v1/chat/completions", body: { model: TINY, messages: chat }, ollama: false },
  { method: "POST", url: "/v1/completions", body: { model: TINY, prompt: "hi" }, ollama: false },
  { method: "POST", url: "/v1/embeddings", body: { model: TINY, input: "hi" }, ollama: false },
  { method: "POST", url: "/v1/responses", body: { model: TINY, input: "hi" }, ollama: false },
  { method: "POST", url: "/api/generate", body: { model: TINY, prompt: "hi" }, ollama: true },
  { method: "POST", url: "/api/chat", body: { model: TINY, messages: chat }, ollama: true },
  { method: "POST", url: "/api/embed", body: { model: TINY, input: "hi" }, ollama: true },
  { method: "POST", url: "/api/embeddings", body: { model: TINY, prompt: "hi" }, ollama: true },
  { method: "POST", url: "/api/show", body: { model: TINY }, ollama: true },
  { method: "POST", url: "/api/copy", body: { source: TINY, destination: "copied-model" }, ollama: true },
  { method: "DELETE", url: "/api/delete", body: { model: TINY }, ollama: true },
  { method: "POST", url: "/api/create", body: { model: "created-model", from: TINY }, ollama: true },
  { method: "POST", url: "/api/pull", body: { model: "pulled-model" }, ollama: true },
  { method: "POST", url: "/api/models/quantize", body: { from: TINY, quantize: "q8_0" }, ollama: false },
];

describe("unknown fields are refused by name", () => {
  it.each(ROUTES)("$method $url: 400 naming the field, in the route's shape, and nothing changes", async (r) => {
    const { app } = await appWith();
    try {
      const before = (await app.inject({ method: "GET", url: "/api/tags" })).json();
      const res = await app.inject({ method: r.method, url: r.url, payload: { ...r.body, bogus_field: 1 } });
      expect(res.statusCode).toBe(400);
      const e = errorOf(res.json());
      expect(e.code).toBe("RFX_VALIDATION");
      expect(e.ollama).toBe(r.ollama);
      expect(e.message).toContain('"bogus_field"');
      expect((await app.inject({ method: "GET", url: "/api/tags" })).json()).toEqual(before);
    } finally {
      await app.close();
    }
  });

  it("every unknown field is named, and the accepted ones are listed", async () => {
    const { app } = await appWith();
    try {
      const res = await app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        payload: { model: TINY, messages: chat, reasoning_effort: "low", n_probs: 2 },
      });
      expect(res.statusCode).toBe(400);
      const { message } = errorOf(res.json());
      expect(message).toMatch(/^body fields "reasoning_effort", "n_probs" not supported here \(accepted: model, /);
      expect(message).toContain("logit_bias");
    } finally {
      await app.close();
    }
  });

  it("a query string field a route does not declare is refused too", async () => {
    const { app } = await appWith();
    try {
      const res = await app.inject({ method: "GET", url: "/api/metrics/live?since=1&window=5" });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.json()).message).toContain('query field "window" not supported here (accepted: since)');
      expect((await app.inject({ method: "GET", url: "/api/metrics/live?since=1" })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("a route that takes no query string refuses one by name, in its shape; public probes stay lenient", async () => {
    const { app } = await appWith();
    try {
      const azure = await app.inject({
        method: "POST",
        url: "/v1/chat/completions?api-version=2024-10-21",
        payload: { model: TINY, messages: chat, max_tokens: 4 },
      });
      expect(azure.statusCode).toBe(400);
      expect(errorOf(azure.json()).message).toBe(
        'query field "api-version" not supported here (this route takes no query string)',
      );
      const tags = await app.inject({ method: "GET", url: "/api/tags?limit=5&sort=size" });
      expect(tags.statusCode).toBe(400);
      expect(tags.json().error).toBe(
        'query fields "limit", "sort" not supported here (this route takes no query string)',
      );
      expect((await app.inject({ method: "GET", url: "/v1/models?limit=1" })).statusCode).toBe(400);
      expect((await app.inject({ method: "GET", url: "/v1/models" })).statusCode).toBe(200);
      expect((await app.inject({ method: "GET", url: "/healthz?ts=1" })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("a field a schema forbids (additionalProperties: false) is named too, not 'must NOT have additional properties'", async () => {
    const { app } = await appWith({ rag: true });
    try {
      const res = await app.inject({ method: "GET", url: "/api/documents?limit=5&page=2" });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.json()).message).toBe('query field "page" not supported here (accepted: offset, limit)');
      expect((await app.inject({ method: "GET", url: "/api/documents?limit=5" })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("a route that refuses every request anyway (push) keeps its own answer", async () => {
    const { app } = await appWith();
    try {
      const res = await app.inject({ method: "POST", url: "/api/push", payload: { model: TINY, stream: false } });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.json()).message).toContain("pushing models to a registry is not supported");
    } finally {
      await app.close();
    }
  });
});

describe("fields inside chat messages", () => {
  const post = async (app: Awaited<ReturnType<typeof appWith>>["app"], messages: unknown[]) =>
    app.inject({ method: "POST", url: "/v1/chat/completions", payload: { model: TINY, messages, max_tokens: 4 } });
  const call = { id: "call_1", type: "function", function: { name: "lookup", arguments: "{}" } };

  it.each([
    ["a message", [{ role: "user", content: "hi", priority: 1 }], 'messages[0] field "priority"'],
    [
      "a content part",
      [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] }],
      'messages[0].content[0] field "cache_control"',
    ],
    [
      "a tool call",
      [{ role: "assistant", content: null, tool_calls: [{ ...call, status: "done" }] }],
      'messages[0].tool_calls[0] field "status"',
    ],
    [
      "a tool call's function",
      [{ role: "assistant", content: null, tool_calls: [{ ...call, function: { ...call.function, strict: true } }] }],
      'messages[0].tool_calls[0].function field "strict"',
    ],
  ])("an unknown field of %s is a 400 naming it by path", async (_what, messages, named) => {
    await expectRefused((app) => post(app, messages), `${named} not supported here (accepted: `, false);
  });

  it("an assistant message sent back as OpenAI returns it (refusal, annotations, audio, function_call null; index) is taken", async () => {
    const { app } = await appWith();
    try {
      const res = await post(app, [
        { role: "user", content: "hi" },
        {
          role: "assistant",
          content: null,
          refusal: null,
          annotations: [],
          audio: null,
          function_call: null,
          tool_calls: [{ ...call, index: 0 }],
        },
        { role: "tool", tool_call_id: "call_1", content: "42" },
      ]);
      expect(res.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("a refusal is the assistant turn's text; audio, function_call and misplaced refusals are refused by name", async () => {
    const { app } = await appWith();
    try {
      const turn = (assistant: Record<string, unknown>) => [
        { role: "user", content: "hi" },
        { role: "assistant", ...assistant },
        { role: "user", content: "why?" },
      ];
      const usage = async (assistant: Record<string, unknown>) => {
        const res = await post(app, turn(assistant));
        expect(res.statusCode).toBe(200);
        return res.json().usage.prompt_tokens as number;
      };
      const said = "I cannot help with that request";
      expect(await usage({ content: null, refusal: said })).toBe(await usage({ content: said }));
      expect(await usage({ content: null, refusal: said })).toBeGreaterThan(await usage({ content: null }));
      for (const [assistant, field, words] of [
        [{ content: null, audio: { id: "audio_1" } }, "messages[1].audio", "text only"],
        [{ content: null, function_call: { name: "f", arguments: "{}" } }, "messages[1].function_call", "tool_calls"],
        [{ content: "yes", refusal: "no" }, "messages[1] has both content and a refusal", "one or the other"],
      ] as const) {
        const res = await post(app, turn(assistant));
        expect(res.statusCode).toBe(400);
        const e = errorOf(res.json());
        expect(e.message).toContain(field);
        expect(e.message).toContain(words);
      }
      const res = await post(app, [{ role: "user", content: "hi", refusal: "no" }]);
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.json()).message).toContain("messages[0].refusal belongs to assistant messages");
    } finally {
      await app.close();
    }
  });

  it("tool calls and tool results are refused on other roles, and a result must answer a call made earlier", async () => {
    const { app } = await appWith();
    try {
      const call = { id: "call_1", type: "function", function: { name: "lookup", arguments: "{}" } };
      const asked = { role: "assistant", content: null, tool_calls: [call] };
      const ok = await post(app, [
        { role: "user", content: "hi" },
        asked,
        { role: "tool", tool_call_id: "call_1", content: "4" },
      ]);
      expect(ok.statusCode).toBe(200);
      for (const [messages, words] of [
        [[{ role: "user", content: "hi", tool_calls: [call] }], "messages[0].tool_calls belongs to assistant messages"],
        [
          [{ role: "user", content: "hi", tool_call_id: "call_1" }],
          "messages[0].tool_call_id belongs to tool messages",
        ],
        [
          [{ role: "user", content: "hi" }, asked, { role: "tool", tool_call_id: "call_9", content: "4" }],
          'messages[2] (role tool) answers tool_call_id "call_9", which no earlier assistant message\'s tool_calls has',
        ],
        [
          [{ role: "tool", tool_call_id: "call_1", content: "4" }, asked],
          'messages[0] (role tool) answers tool_call_id "call_1"',
        ],
      ] as const) {
        const res = await post(app, messages as unknown as Record<string, unknown>[]);
        expect(res.statusCode, words).toBe(400);
        expect(errorOf(res.json()).message).toContain(words);
      }
    } finally {
      await app.close();
    }
  });
});

describe("fields inside other objects of a body", () => {
  const fn = { name: "lookup", parameters: { type: "object", properties: {} } };
  const oa = { model: TINY, messages: chat, max_tokens: 4 };
  const ol = { model: TINY, messages: chat, stream: false, options: { num_predict: 4 } };
  it.each([
    [
      "/v1/chat/completions",
      { ...oa, tools: [{ type: "function", function: fn, cache: 1 }] },
      'tools[0] field "cache"',
    ],
    [
      "/v1/chat/completions",
      { ...oa, tools: [{ type: "function", function: { ...fn, examples: [] } }] },
      'tools[0].function field "examples"',
    ],
    [
      "/v1/chat/completions",
      {
        ...oa,
        tools: [{ type: "function", function: fn }],
        tool_choice: { type: "function", function: { name: "lookup", force: true } },
      },
      'tool_choice.function field "force"',
    ],
    [
      "/v1/chat/completions",
      { ...oa, response_format: { type: "json_object", schema: {} } },
      'response_format field "schema"',
    ],
    [
      "/v1/chat/completions",
      {
        ...oa,
        response_format: { type: "json_schema", json_schema: { name: "a", schema: { type: "object" }, version: 2 } },
      },
      'response_format.json_schema field "version"',
    ],

    [
      "/v1/completions",
      {
        model: TINY,
        prompt: "hi",
        max_tokens: 4,
        stream: true,
        stream_options: { include_usage: true, include_obfuscation: false },
      },
      'stream_options field "include_obfuscation"',
    ],
    [
      "/v1/responses",
      { model: TINY, input: "hi", text: { format: { type: "text", indent: 2 } } },
      'text.format field "indent"',
    ],
    [
      "/v1/responses",
      {
        model: TINY,
        input: "hi",
        tools: [{ type: "function", name: "f" }],
        tool_choice: { type: "function", name: "f", force: 1 },
      },
      'tool_choice field "force"',
    ],
    ["/api/chat", { ...ol, tools: [{ type: "function", function: fn, items: {} }] }, 'tools[0] field "items"'],
    [
      "/api/chat",
      { ...ol, tools: [{ type: "function", function: { ...fn, examples: [] } }] },
      'tools[0].function field "examples"',
    ],
  ])("%s: an unknown field is a 400 naming it by path (%#)", async (url, payload, named) => {
    await expectRefused(
      (app) => app.inject({ method: "POST", url, payload }),
      `${named} not supported here (accepted: `,
      url.startsWith("/api/"),
    );
  });

  it.each([
    [
      "/v1/chat/completions",
      { ...oa, response_format: { type: "json_object", json_schema: { name: "a", schema: { type: "string" } } } },
      'response_format.json_schema is only read with type "json_schema" (type is "json_object")',
    ],
    [
      "/v1/responses",
      { model: TINY, input: "hi", text: { format: { type: "text", schema: { type: "string" } } } },
      'text.format.schema is only read with type "json_schema" (type is "text")',
    ],
  ])("%s: a JSON Schema beside another output type is refused, not dropped", async (url, payload, named) => {
    await expectRefused((app) => app.inject({ method: "POST", url, payload }), named, false);
  });

  it.each([
    ["/v1/chat/completions", { ...oa }],
    ["/v1/completions", { model: TINY, prompt: "hi", max_tokens: 4 }],
  ])(
    "%s: stream_options without a stream is refused; with include_usage every chunk carries usage",
    async (url, body) => {
      const stream_options = { include_usage: true };
      await expectRefused(
        (app) => app.inject({ method: "POST", url, payload: { ...body, stream_options } }),
        "stream_options is only allowed when stream is true",
        false,
      );
      const { app } = await appWith();
      try {
        const res = await app.inject({ method: "POST", url, payload: { ...body, stream: true, stream_options } });
        expect(res.statusCode).toBe(200);
        const chunks = res.body
          .split("\n\n")
          .filter((l) => l.startsWith("data: {"))
          .map((l) => JSON.parse(l.slice(6)));
        // As OpenAI: null on every chunk but the last, which has the counts and no choices.
        expect(chunks.length).toBeGreaterThan(2);
        expect(chunks.slice(0, -1).every((c) => "usage" in c && c.usage === null)).toBe(true);
        expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: expect.any(Number) } });
      } finally {
        await app.close();
      }
    },
  );
});

describe("fields inside Ollama chat messages", () => {
  const post = async (app: Awaited<ReturnType<typeof appWith>>["app"], messages: unknown[]) =>
    app.inject({ method: "POST", url: "/api/chat", payload: { model: TINY, messages, stream: false } });
  const call = { function: { name: "lookup", arguments: { q: "x" } } };

  it.each([
    ["a message", [{ role: "user", content: "hi", priority: 1 }], 'messages[0] field "priority"'],
    [
      "a tool call",
      [{ role: "assistant", content: "", tool_calls: [{ ...call, id: "call_1", status: "done" }] }],
      'messages[0].tool_calls[0] field "status"',
    ],
    [
      "a tool call of another type",
      [{ role: "assistant", content: "", tool_calls: [{ ...call, type: "custom" }] }],
      'messages[0].tool_calls[0].type "custom" is not supported (only "function")',
    ],
    [
      "a tool result answering no call",
      [
        { role: "assistant", content: "", tool_calls: [{ ...call, id: "call_1" }] },
        { role: "tool", content: "42", tool_call_id: "call_2" },
      ],
      'messages[1] (role tool) answers tool_call_id "call_2", which no earlier assistant message\'s tool_calls has',
    ],
    [
      "a tool_call_id outside a tool message",
      [{ role: "user", content: "hi", tool_call_id: "call_1" }],
      "messages[0].tool_call_id names the call",
    ],
    [
      "tool_calls outside an assistant message",
      [{ role: "user", content: "hi", tool_calls: [call] }],
      "messages[0].tool_calls belongs to assistant messages",
    ],
    [
      "a user message without content",
      [{ role: "user" }],
      "messages[0].content is required (only an assistant message with tool_calls may leave it out)",
    ],
    [
      "a tool call's function",
      [{ role: "assistant", content: "", tool_calls: [{ function: { ...call.function, strict: true } }] }],
      'messages[0].tool_calls[0].function field "strict"',
    ],
    [
      "a thinking trace",
      [{ role: "assistant", content: "ok", thinking: "let me see" }],
      'messages[0].thinking: no model here has the "thinking" capability',
    ],
    [
      "a tool_name outside a tool message",
      [{ role: "user", content: "hi", tool_name: "lookup" }],
      "messages[0].tool_name names the tool",
    ],
  ])("%s: a 400 in Ollama's shape naming it by path", async (_what, messages, named) => {
    await expectRefused((app) => post(app, messages), named, true);
  });

  it("an assistant message sent back as Ollama returns it (tool call index, empty thinking) is taken", async () => {
    const { app } = await appWith();
    try {
      const res = await post(app, [
        { role: "user", content: "hi" },
        {
          role: "assistant",
          content: "",
          thinking: "",
          tool_calls: [{ function: { index: 0, ...call.function } }],
        },
        { role: "tool", content: "42", tool_name: "lookup" },
      ]);
      expect(res.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("tool calls as LangChain sends them back (id, type, no content), answered by tool_call_id, and tools without a type are taken", async () => {
    const { app } = await appWith();
    try {
      const res = await app.inject({
        method: "POST",
        url: "/api/chat",
        payload: {
          model: TINY,
          stream: false,
          tools: [
            { function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } } },
          ],
          messages: [
            { role: "user", content: "hi" },
            {
              role: "assistant",
              tool_calls: [
                { id: "a1", type: "function", ...call },
                { id: "a2", type: "function", function: { name: "other", arguments: {} } },
              ],
            },
            // Answered out of order by id; the one without an id answers the oldest call still open.
            { role: "tool", content: "43", tool_call_id: "a2" },
            { role: "tool", content: "42" },
          ],
        },
      });
      expect(res.statusCode).toBe(200);
      const tool = await app.inject({
        method: "POST",
        url: "/api/chat",
        payload: { model: TINY, stream: false, messages: chat, tools: [{ type: "custom", function: { name: "x" } }] },
      });
      expect(tool.statusCode).toBe(400);
      expect(errorOf(tool.json()).message).toContain("type");
    } finally {
      await app.close();
    }
  });
});

describe("fields inside /v1/responses input items and tools", () => {
  const post = async (app: Awaited<ReturnType<typeof appWith>>["app"], body: Record<string, unknown>) =>
    app.inject({ method: "POST", url: "/v1/responses", payload: { model: TINY, max_output_tokens: 4, ...body } });

  it.each([
    ["a message item", { input: [{ role: "user", content: "hi", priority: 1 }] }, 'input[0] field "priority"'],
    [
      "a text part",
      { input: [{ role: "user", content: [{ type: "input_text", text: "hi", cache_control: {} }] }] },
      'input[0].content[0] field "cache_control"',
    ],
    [
      "a function_call item",
      { input: [{ type: "function_call", call_id: "c1", name: "f", arguments: "{}", namespace: "x" }] },
      'input[0] field "namespace"',
    ],
    [
      "a function_call_output item",
      { input: [{ type: "function_call_output", call_id: "c1", output: "42", ttl: 5 }] },
      'input[0] field "ttl"',
    ],
    [
      "a function tool",
      { input: "hi", tools: [{ type: "function", name: "f", cache: true }] },
      'tools[0] field "cache"',
    ],
  ])("an unknown field of %s is a 400 naming it by path", async (_what, body, named) => {
    await expectRefused((app) => post(app, body), `${named} not supported here (accepted: `, false);
  });

  it("an earlier response's output items sent back whole (id, status, annotations, logprobs) are taken", async () => {
    const { app } = await appWith();
    try {
      const res = await post(app, {
        input: [
          { role: "user", content: "hi" },
          {
            type: "message",
            id: "msg_1",
            status: "completed",
            role: "assistant",
            content: [{ type: "output_text", text: "calling", annotations: [], logprobs: [] }],
          },
          { type: "function_call", id: "fc_1", status: "completed", call_id: "c1", name: "f", arguments: "{}" },
          { type: "function_call_output", call_id: "c1", output: "42" },
        ],
        tools: [{ type: "function", name: "f", parameters: { type: "object" }, strict: true }],
      });
      expect(res.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe("/v1/responses reasoning items", () => {
  const input = (reasoning: Record<string, unknown>) => [
    { role: "user", content: "hi" },
    { type: "reasoning", id: "rs_1", ...reasoning },
    { role: "user", content: "and now?" },
  ];
  it.each([
    [{ summary: [{ type: "summary_text", text: "The user greets." }] }],
    [{ summary: [], content: [{ type: "reasoning_text", text: "The user greets." }] }],
    [{ summary: [], encrypted_content: "gAAAAB..." }],
  ])("one with a trace (%j) is refused: no model here reasons", async (reasoning) => {
    await expectRefused(
      (app) => app.inject({ method: "POST", url: "/v1/responses", payload: { model: TINY, input: input(reasoning) } }),
      "input[1] is a reasoning item with a trace",
      false,
    );
  });

  it.each([[{ summary: "The user greets." }], [{ summary: [null] }], [{ summary: [], content: {} }]])(
    "one whose parts are not a list of text parts (%j) is refused",
    async (reasoning) => {
      await expectRefused(
        (app) =>
          app.inject({ method: "POST", url: "/v1/responses", payload: { model: TINY, input: input(reasoning) } }),
        "must be a list of {type, text} parts",
        false,
      );
    },
  );

  it("one without a trace (an empty summary) is taken and adds nothing to the prompt", async () => {
    const engine = createFakeEngine();
    const { app } = await appWith({ engine });
    try {
      const with_ = await app.inject({
        method: "POST",
        url: "/v1/responses",
        payload: { model: TINY, input: input({ summary: [], encrypted_content: null }), max_output_tokens: 4 },
      });
      expect(with_.statusCode).toBe(200);
      const without = await app.inject({
        method: "POST",
        url: "/v1/responses",
        payload: { model: TINY, input: input({}).filter((i) => !("type" in i)), max_output_tokens: 4 },
      });
      expect(without.statusCode).toBe(200);
      expect(with_.json().usage.input_tokens).toBe(without.json().usage.input_tokens);
    } finally {
      await app.close();
    }
  });
});

describe("fields that ask for what this server cannot do", () => {
  it.each([
    [{ store: true }, "store: true is not supported"],
    [{ background: true }, "background responses are not supported"],
    [{ prompt: { id: "pmpt_1" } }, "prompt (stored prompt templates) is not supported"],
    [{ text: { verbosity: "low" } }, "text.verbosity is not supported"],
  ])("/v1/responses %j is a 400 saying why", async (extra, why) => {
    const { app } = await appWith();
    try {
      const res = await app.inject({
        method: "POST",
        url: "/v1/responses",
        payload: { model: TINY, input: "hi", ...extra },
      });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.json()).message).toContain(why);
    } finally {
      await app.close();
    }
  });

  it("/v1/responses with store false answers, and says store false", async () => {
    const { app } = await appWith();
    try {
      const res = await app.inject({
        method: "POST",
        url: "/v1/responses",
        payload: { model: TINY, input: "hi", store: false, background: false, max_output_tokens: 4 },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().store).toBe(false);
    } finally {
      await app.close();
    }
  });

  it.each(["/api/chat", "/api/generate"])(
    "%s: think true or a level is refused as Ollama refuses it; false answers",
    async (url) => {
      const { app } = await appWith();
      try {
        const body = url === "/api/chat" ? { model: TINY, messages: chat } : { model: TINY, prompt: "hi" };
        for (const think of [true, "high"]) {
          const res = await app.inject({ method: "POST", url, payload: { ...body, think, stream: false } });
          expect(res.statusCode).toBe(400);
          expect(res.json()).toEqual({ error: `"${TINY}" does not support thinking`, code: "RFX_VALIDATION" });
        }
        const ok = await app.inject({
          method: "POST",
          url,
          payload: { ...body, think: false, stream: false, options: { num_predict: 3 } },
        });
        expect(ok.statusCode).toBe(200);
      } finally {
        await app.close();
      }
    },
  );

  it("max_tokens and max_completion_tokens that differ are refused; the same value twice is taken", async () => {
    const ask = (extra: Record<string, unknown>) => (app: Awaited<ReturnType<typeof appWith>>["app"]) =>
      app.inject({ method: "POST", url: "/v1/chat/completions", payload: { model: TINY, messages: chat, ...extra } });
    await expectRefused(
      ask({ max_tokens: 4, max_completion_tokens: 8 }),
      "max_tokens (4) and max_completion_tokens (8) differ",
      false,
    );
    const { app } = await appWith();
    try {
      const res = await ask({ max_tokens: 4, max_completion_tokens: 4 })(app);
      expect(res.statusCode).toBe(200);
      expect(res.json().usage.completion_tokens).toBeLessThanOrEqual(4);
    } finally {
      await app.close();
    }
  });

  it("/api/generate suffix is a fill-in-the-middle prompt: refused with why on a model without FIM tokens", async () => {
    const gen = { model: TINY, prompt: "def f(x):", stream: false };
    await expectRefused(
      (app) => app.inject({ method: "POST", url: "/api/generate", payload: { ...gen, suffix: "  return y" } }),
      "suffix needs a model with fill-in-the-middle tokens",
      true,
    );
    await expectRefused(
      (app) =>
        app.inject({
          method: "POST",
          url: "/api/generate",
          payload: { ...gen, suffix: "  return y", system: "Code." },
        }),
      "suffix (fill-in-the-middle) cannot be combined with system",
      true,
    );
    // An empty prompt with a suffix is a gap at the start, not a load request.
    await expectRefused(
      (app) =>
        app.inject({ method: "POST", url: "/api/generate", payload: { model: TINY, suffix: "x", stream: false } }),
      "suffix needs a model with fill-in-the-middle tokens",
      true,
    );
    const { app } = await appWith();
    try {
      const ok = await app.inject({
        method: "POST",
        url: "/api/generate",
        payload: { ...gen, suffix: "", options: { num_predict: 3 } },
      });
      expect(ok.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it.each(["/api/chat", "/api/generate"])("%s: top_logprobs without logprobs: true is refused by name", async (url) => {
    const body = url === "/api/chat" ? { model: TINY, messages: chat } : { model: TINY, prompt: "hi" };
    await expectRefused(
      (app) => app.inject({ method: "POST", url, payload: { ...body, top_logprobs: 2, stream: false } }),
      "top_logprobs needs logprobs: true",
      true,
    );
  });
});

describe("OpenAI's user field", () => {
  it("tags the request's log lines with end_user, 'request completed' included", async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const { app } = await appWith({ logger: { level: "info", stream } });
    try {
      const res = await app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        payload: { model: TINY, messages: chat, max_tokens: 3, user: "alice-42" },
      });
      expect(res.statusCode).toBe(200);
      const completed = lines.filter((l) => l.msg === "request completed");
      expect(completed).toHaveLength(1);
      expect(completed[0].end_user).toBe("alice-42");
      await app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        payload: { model: TINY, messages: chat, max_tokens: 3 },
      });
      expect(lines.filter((l) => l.msg === "request completed")[1].end_user).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});

describe("/api/pull honours insecure (as Ollama)", () => {
  it("an http:// registry name is a 400 naming insecure without it, and is pulled from that registry with it", async () => {
    const bytes = (await writeTinyGguf(makeTempDir(), 3)).bytes;
    const registry = await startLoopbackRegistry([
      {
        repository: "library/tiny",
        tag: "latest",
        layers: [{ mediaType: "application/vnd.ollama.image.model", bytes }],
      },
    ]);
    const { app } = await appWith();
    try {
      const model = `${registry.url}/library/tiny:latest`;
      const refused = await app.inject({ method: "POST", url: "/api/pull", payload: { model, stream: false } });
      expect(refused.statusCode).toBe(400);
      const e = errorOf(refused.json());
      expect(e).toMatchObject({ code: "RFX_VALIDATION", ollama: true });
      expect(e.message).toContain("needs insecure: true");
      expect(registry.requests).toEqual([]);
      const pulled = await app.inject({
        method: "POST",
        url: "/api/pull",
        payload: { model, stream: false, insecure: true },
      });
      expect(pulled.statusCode).toBe(200);
      expect(pulled.json()).toEqual({ status: "success" });
      expect(registry.requests[0]).toBe("GET /v2/library/tiny/manifests/latest");
      const tags = (await app.inject({ method: "GET", url: "/api/tags" })).json() as { models: { name: string }[] };
      expect(tags.models.map((m) => m.name)).toContain(
        `${new URL(registry.url).host.replace(":", "_")}/library/tiny:latest`,
      );
    } finally {
      await app.close();
      await registry.close();
      await cleanupTempDirs();
    }
  });
});

describe("Ollama generate: fields that cannot apply together", () => {
  it("raw with a system text is refused (raw sends the prompt as is; the system text was dropped)", async () => {
    await expectRefused(
      (app) =>
        app.inject({
          method: "POST",
          url: "/api/generate",
          payload: { model: TINY, prompt: "hi", raw: true, system: "be brief", stream: false },
        }),
      "system cannot be combined with raw: true",
      true,
    );
  });
});

describe("schema failures read as one sentence naming the field", () => {
  const m = [{ role: "user", content: "hi" }];
  it.each([
    ["/v1/chat/completions", { model: TINY, messages: m, temperature: 7 }, "temperature must be <= 2"],
    [
      "/v1/chat/completions",
      { model: TINY, messages: [{ role: "user", content: 5 }] },
      "messages[0].content must be string or array",
    ],
    ["/v1/chat/completions", { model: TINY }, "messages is required"],
    [
      "/v1/embeddings",
      { model: TINY, input: "x", encoding_format: "hex" },
      'encoding_format must be one of "float", "base64"',
    ],
    ["/api/generate", { model: TINY, prompt: "x", options: { top_k: -1 } }, "options.top_k must be >= 0"],
  ])("%s: %j", async (url, payload, sentence) => {
    const { app } = await appWith();
    try {
      const res = await app.inject({ method: "POST", url, payload });
      expect(res.statusCode).toBe(400);
      // Exactly the sentence: a nullable field's failure was three ("…, must be null, must match a schema in anyOf").
      expect(errorOf(res.json()).message).toBe(sentence);
    } finally {
      await app.close();
    }
  });
});
