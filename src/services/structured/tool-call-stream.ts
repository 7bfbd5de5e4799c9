// Streaming a reply that may turn into tool calls (tool_choice auto): its text goes out as it is generated, except
// what could still be part of a call, which waits for the end of the reply and its parse (parseToolCalls).
import { TOOL_CALL_OPENERS } from "./tool-calls.ts";

export interface ToolCallStream {
  /** The part of a new piece of text that can go out now ("" while it may be part of a call). */
  push(text: string): string;
  /** At the end: what of the parsed reply's content has not gone out (all of it when nothing was streamed). */
  rest(content: string): string;
  /** The text that went out so far. */
  readonly streamed: string;
}

/**
 * Text is held back only where it may belong to a call: from a call opener (`<tool_call>`, `[TOOL_CALLS]`,
 * `<|python_tag|>`) on, a tail that could be the start of one, and a whole reply that begins with `{` or `[` (a
 * call written as bare JSON). Everything else streams as it comes, as llama-server streams content next to tools.
 */
export function createToolCallStream(openers: readonly string[] = TOOL_CALL_OPENERS): ToolCallStream {
  let held = "";
  let streamed = "";
  let stopped = false;
  let started = false;
  const longest = Math.max(...openers.map((o) => o.length));
  return {
    push(text) {
      if (stopped) return "";
      held += text;
      if (!started) {
        const lead = held.trimStart();
        if (lead === "") return "";
        started = true;
        // A reply that opens as JSON may be a call in full (the bare-JSON format): it waits for the end.
        if (lead[0] === "{" || lead[0] === "[") {
          stopped = true;
          return "";
        }
      }
      let at = -1;
      for (const o of openers) {
        const i = held.indexOf(o);
        if (i >= 0 && (at < 0 || i < at)) at = i;
      }
      let out: string;
      if (at >= 0) {
        stopped = true;
        out = held.slice(0, at);
      } else {
        // Keep the longest tail that an opener starts with: the next piece may complete it.
        let keep = 0;
        for (let k = Math.min(longest - 1, held.length); k > 0 && keep === 0; k--) {
          const tail = held.slice(held.length - k);
          if (openers.some((o) => o.startsWith(tail))) keep = k;
        }
        out = held.slice(0, held.length - keep);
        held = held.slice(held.length - keep);
      }
      streamed += out;
      return out;
    },
    rest(content) {
      if (content.startsWith(streamed)) return content.slice(streamed.length);
      // The parser trims the content around the calls; what went out is its start, less that whitespace.
      const sent = streamed.trim();
      return content.startsWith(sent) ? content.slice(sent.length) : "";
    },
    get streamed() {
      return streamed;
    },
  };
}
