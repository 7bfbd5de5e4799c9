import { describe, expect, it } from "vitest";
import { isReflexiaError } from "../../errors/index.ts";
import { parseToolCalls, planTools, replyGrammar } from "./tool-calls.ts";

const tools = [
  { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
  { name: "add", parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } } },
];

describe("parseToolCalls", () => {
  it("Hermes/Qwen <tool_call> blocks, several, with text around", () => {
    const r = parseToolCalls(
      'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>{"name":"add","arguments":{"a":1,"b":2}}</tool_call>',
      tools,
    );
    expect(r.content).toBe("Let me check.");
    expect(r.calls.map((c) => [c.name, c.arguments])).toEqual([
      ["get_weather", { city: "Paris" }],
      ["add", { a: 1, b: 2 }],
    ]);
    expect(new Set(r.calls.map((c) => c.id)).size).toBe(2);
  });

  it("Mistral [TOOL_CALLS] in both spellings", () => {
    expect(parseToolCalls('[TOOL_CALLS][{"name": "add", "arguments": {"a": 1, "b": 2}}]', tools).calls[0].name).toBe(
      "add",
    );
    expect(parseToolCalls('[TOOL_CALLS]get_weather[ARGS]{"city": "Rome"}', tools).calls[0].arguments).toEqual({
      city: "Rome",
    });
  });

  it("Llama 3.x JSON with parameters, <|python_tag|> and ';'-separated calls", () => {
    expect(parseToolCalls('{"name": "get_weather", "parameters": {"city": "Oslo"}}', tools).calls[0].arguments).toEqual(
      {
        city: "Oslo",
      },
    );
    const r = parseToolCalls(
      '<|python_tag|>{"name": "add", "parameters": {"a": 1}}; {"name": "add", "parameters": {"a": 2}}',
      tools,
    );
    expect(r.calls.map((c) => c.arguments)).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it("generic JSON, arguments as a JSON string, and an array of calls", () => {
    expect(
      parseToolCalls('{"function": {"name": "add", "arguments": "{\\"a\\": 3}"}}', tools).calls[0].arguments,
    ).toEqual({ a: 3 });
    expect(
      parseToolCalls('[{"name":"add","arguments":{}},{"name":"get_weather","arguments":{}}]', tools).calls,
    ).toHaveLength(2);
  });

  it("leaves text alone: unknown functions, broken JSON, prose", () => {
    for (const text of [
      '{"name": "rm_rf", "arguments": {}}',
      "<tool_call>{not json}</tool_call>",
      "The weather is nice.",
      '{"answer": 42}',
    ]) {
      const r = parseToolCalls(text, tools);
      expect(r.calls).toEqual([]);
      expect(r.content).toBe(text);
    }
  });
});

describe("planTools", () => {
  const fail = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(isReflexiaError(e) && e.code === "RFX_VALIDATION").toBe(true);
      return (e as Error).message;
    }
    throw new Error("did not throw");
  };

  it("none offers nothing, auto offers tools with a lazy grammar, required/named force one", () => {
    expect(planTools(tools, "none")).toEqual({ parse: false });
    const auto = planTools(tools, "auto");
    expect(auto.grammar).toBeUndefined();
    expect(auto.lazyGrammar?.triggers?.length).toBe(1);
    expect(planTools(tools, "required").grammar?.gbnf).toContain("get_weather");
    const named = planTools(tools, { name: "add" }).grammar!.gbnf;
    expect(named).toContain("add");
    expect(named).not.toContain("get_weather");
  });

  it("refuses bad names, duplicates, an unknown forced function and forcing without tools", () => {
    expect(fail(() => planTools([{ name: "has space" }], "auto"))).toContain("tools[0].function.name");
    expect(fail(() => planTools([{ name: "a" }, { name: "a" }], "auto"))).toContain("twice");
    expect(fail(() => planTools(tools, { name: "nope" }))).toContain("nope");
    expect(fail(() => planTools([], "required"))).toContain("at least one tool");
    expect(fail(() => planTools([{ name: "f", parameters: { type: "strin" } }], "required"))).toContain("strin");
  });
});

describe("replyGrammar", () => {
  const tools = [{ name: "f", parameters: { type: "object", properties: { a: { type: "string" } } } }];
  const format = { gbnf: 'root ::= "x"', closeJson: true };
  it("takes a forced call's grammar, else the format's, else the lazy tool-call one", () => {
    const forced = planTools(tools, "required");
    const auto = planTools(tools, "auto");
    expect(replyGrammar(forced, undefined, "format")).toBe(forced.grammar);
    expect(replyGrammar(auto, format, "format")).toBe(format);
    expect(replyGrammar(auto, undefined, "format")).toBe(auto.lazyGrammar);
    expect(replyGrammar(planTools(undefined, undefined), undefined, "format")).toBeUndefined();
  });
  it("refuses a forced call together with an output format, naming the format field", () => {
    let e: unknown;
    try {
      replyGrammar(planTools(tools, "required"), format, "text.format");
    } catch (x) {
      e = x;
    }
    expect(isReflexiaError(e) && e.code).toBe("RFX_VALIDATION");
    expect((e as Error).message).toContain("text.format");
  });
});
