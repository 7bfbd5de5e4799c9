// Which text of a reply with tools offered streams at once, and what is left for the end.
import { describe, expect, it } from "vitest";
import { createToolCallStream } from "./tool-call-stream.ts";
import { parseToolCalls } from "./tool-calls.ts";

const TOOLS = [{ name: "get_weather", parameters: { type: "object" } }];

/** Feeds `pieces` one by one; returns what streamed and what the end adds after the parse. */
function run(pieces: string[]) {
  const s = createToolCallStream();
  const live = pieces.map((p) => s.push(p));
  const parsed = parseToolCalls(pieces.join(""), TOOLS);
  return { live, end: s.rest(parsed.content), calls: parsed.calls.length };
}

describe("createToolCallStream", () => {
  it("streams plain text as it comes, holding only a tail that may open a call", () => {
    const r = run(["Hello", " there", ", friend <", "b>ok"]);
    expect(r.live).toEqual(["Hello", " there", ", friend ", "<b>ok"]);
    expect(r.end).toBe("");
  });

  it("stops at a call opener split over pieces; the calls are parsed at the end, the text after them sent then", () => {
    const r = run(["Let me check. <tool", '_call>{"name": "get_weather", "arguments": {}}', "</tool_call> Done."]);
    expect(r.live).toEqual(["Let me check. ", "", ""]);
    expect(r.calls).toBe(1);
    // The parser trims the content around the calls: "Let me check.  Done." less the whitespace already sent.
    expect(r.live.join("") + r.end).toBe("Let me check.  Done.");
  });

  it("holds a reply that opens as JSON (a bare-JSON call) until the end", () => {
    const r = run([' {"name": "get_weather",', ' "arguments": {"city": "Paris"}}']);
    expect(r.live).toEqual(["", ""]);
    expect(r.calls).toBe(1);
    expect(r.end).toBe("");
  });

  it("sends what was held when the opener led to no valid call", () => {
    const r = run(["Maybe [TOOL_CALLS]", " not json"]);
    expect(r.calls).toBe(0);
    expect(r.live.join("") + r.end).toBe("Maybe [TOOL_CALLS] not json");
  });

  it("a tail that turns out not to open a call is sent with the next piece, and all of it by the end", () => {
    const s = createToolCallStream();
    expect(s.push("a <|py")).toBe("a ");
    expect(s.push("x")).toBe("<|pyx");
    expect(s.push("tail <to")).toBe("tail ");
    expect(s.rest("a <|pyxtail <to")).toBe("<to");
  });
});
