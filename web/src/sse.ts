// Server-sent-events parsing for the web UI: turns a fetch() body into the JSON payloads of its `data:` events.

/**
 * Incremental SSE parser (the WHATWG event-stream rules the UI needs: `data:` lines joined by "\n", events
 * ended by a blank line, `:` comments ignored, CR, LF and CRLF line ends). Chunks may split anywhere,
 * including inside a line or between the CR and LF of a CRLF.
 * @param {(data: string, event: string) => void} onEvent called once per complete event that carried data
 */
export function createSseParser(onEvent) {
  let buffer = "";
  let dataLines = [];
  let eventName = "message";
  let pendingCR = false;

  function dispatch() {
    if (dataLines.length > 0) onEvent(dataLines.join("\n"), eventName);
    dataLines = [];
    eventName = "message";
  }

  function line(text) {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") dataLines.push(value);
    else if (field === "event") eventName = value || "message";
  }

  return {
    /** Feeds decoded text. */
    push(text) {
      // A chunk that begins with the LF of a CRLF split across chunks must not count as a second line end.
      if (pendingCR && text.startsWith("\n")) text = text.slice(1);
      pendingCR = false;
      buffer += text;
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i];
        if (c !== "\n" && c !== "\r") continue;
        line(buffer.slice(start, i));
        if (c === "\r") {
          if (i + 1 < buffer.length) {
            if (buffer[i + 1] === "\n") i++;
          } else {
            pendingCR = true;
          }
        }
        start = i + 1;
      }
      buffer = buffer.slice(start);
    },
    /** Flushes a final event that the stream ended without a blank line after. */
    end() {
      if (buffer !== "") line(buffer);
      buffer = "";
      dispatch();
    },
  };
}

/**
 * Reads an OpenAI-style SSE response and calls onJson for each JSON payload until `data: [DONE]`.
 * An `event: error` or a payload holding `error` is thrown as an Error so callers handle one failure path.
 * @param {Response} response
 * @param {(payload: any) => void} onJson
 */
export async function readSseJson(response, onJson) {
  if (!response.body) throw new Error("response has no body");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let done = false;
  let failure = null;
  const parser = createSseParser((data, event) => {
    if (done || failure) return;
    if (data === "[DONE]") {
      done = true;
      return;
    }
    let payload;
    try {
      payload = JSON.parse(data);
    } catch {
      failure = new Error(`malformed stream event: ${data.slice(0, 120)}`);
      return;
    }
    if (event === "error" || (payload && payload.error)) {
      const err = payload.error ?? payload;
      failure = new Error(err.message ?? String(err));
      failure.code = err.code;
      return;
    }
    onJson(payload);
  });
  try {
    while (!done && !failure) {
      const { value, done: eof } = await reader.read();
      if (eof) {
        parser.push(decoder.decode());
        parser.end();
        break;
      }
      parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    if (!done || failure) await reader.cancel().catch(() => {});
    else reader.releaseLock();
  }
  if (failure) throw failure;
  return { completed: done };
}
