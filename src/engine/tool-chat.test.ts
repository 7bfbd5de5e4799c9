import { describe, expect, it } from "vitest";
import { foldToolsIntoMessages, renderJinjaChat, templateSupportsTools } from "./tool-chat.ts";
import type { ChatMessage } from "./types.ts";

// The tool part of Qwen2.5's chat template (Hermes format), as shipped in its GGUF.
const QWEN_LIKE = `{%- if tools %}<|im_start|>system
{{ messages[0].content if messages[0].role == 'system' else 'You are a helpful assistant.' }}

# Tools
<tools>{%- for tool in tools %}
{{ tool | tojson }}{%- endfor %}
</tools><|im_end|>
{%- endif %}
{%- for message in messages %}{%- if message.role == 'user' or (message.role == 'system' and not tools) %}
<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{%- elif message.role == 'assistant' %}
<|im_start|>assistant{% if message.content %}
{{ message.content }}{% endif %}{%- for tool_call in message.tool_calls %}
<tool_call>
{"name": "{{ tool_call.function.name }}", "arguments": {{ tool_call.function.arguments | tojson }}}
</tool_call>{%- endfor %}<|im_end|>
{%- elif message.role == 'tool' %}
<|im_start|>user
<tool_response>
{{ message.content }}
</tool_response><|im_end|>
{%- endif %}{%- endfor %}
{%- if add_generation_prompt %}
<|im_start|>assistant
{%- endif %}`;

const history: ChatMessage[] = [
  { role: "user", content: "Weather in Paris?" },
  { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "get_weather", arguments: { city: "Paris" } }] },
  { role: "tool", content: '{"t": 21}', toolCallId: "c1", name: "get_weather" },
];
const tools = [{ name: "get_weather", description: "Weather", parameters: { type: "object" } }];

describe("tool-aware chat rendering", () => {
  it("renders tools, calls and results through the model's Jinja template", () => {
    expect(templateSupportsTools(QWEN_LIKE)).toBe(true);
    const text = renderJinjaChat(QWEN_LIKE, history, tools, { bos: "", eos: "<|im_end|>" })!;
    expect(text).toContain('"name": "get_weather"');
    expect(text).toContain("# Tools");
    expect(text).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}');
    expect(text).toContain('<tool_response>\n{"t": 21}\n</tool_response>');
    expect(text.trimEnd().endsWith("<|im_start|>assistant")).toBe(true);
  });

  it("returns null for a template Jinja cannot run", () => {
    expect(renderJinjaChat("{% for %}", history, tools, { bos: "", eos: "" })).toBeNull();
  });

  it("the fallback folds tools into the system message and uses only plain roles", () => {
    expect(templateSupportsTools("{% for m in messages %}{{ m.content }}{% endfor %}")).toBe(false);
    const out = foldToolsIntoMessages([{ role: "system", content: "Be brief." }, ...history], tools);
    expect(out.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(out[0].content).toMatch(/^Be brief\.\n\nYou can call functions/);
    expect(out[0].content).toContain('"name":"get_weather"');
    expect(out[2].content).toBe('<tool_call>\n{"name":"get_weather","arguments":{"city":"Paris"}}\n</tool_call>');
    expect(out[3].content).toBe('<tool_response>\n{"t": 21}\n</tool_response>');
  });
});
