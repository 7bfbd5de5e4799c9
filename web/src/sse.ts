// Server-sent-events parsing for the web UI: turns a fetch() body into the JSON payloads of its `data:` events.

export interface SseParser {
  /** Feeds decoded text. */
  push(text: string): void;
  /** Flushes a final event that the stream ended without a blank line after. */
  end(): void;
}

/** An `event: error` or a payload holding `error`, thrown so callers handle one failure path. */
export class StreamError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = "StreamError";
    this.code = code;
  }
}

/**
 * Incremental SSE parser (the WHATWG event-stream rules the UI needs: `data:` lines joined by "\n", events
 * ended by a blank line, `:` comments ignored, CR, LF and CRLF line ends). Chunks may split anywhere,
 * including inside a line or between the CR and LF of a CRLF.
 */
export function createSseParser(onEvent: (data: string, event: string) => void): SseParser {
  let buffer = "";
  let dataLines: string[] = [];
  let eventName = "message";
  let pendingCR = false;

  function dispatch(): void {
    if (dataLines.length > 0) onEvent(dataLines.join("\n"), eventName);
    dataLines = [];
    eventName = "message";
  }

  function line(text: string): void {
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
    end() {
      if (buffer !== "") line(buffer);
      buffer = "";
      dispatch();
    },
  };
}

/** Reads an OpenAI-style SSE response and calls onJson for each JSON payload until `data: [DONE]`. */
export async function readSseJson(response: Response, onJson: (payload: any) => void): Promise<{ completed: boolean }> {
  if (!response.body) throw new Error("response has no body");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let done = false;
  let failure: Error | null = null;
  const parser = createSseParser((data, event) => {
    if (done || failure) return;
    if (data === "[DONE]") {
      done = true;
      return;
    }
    let payload: any;
    try {
      payload = JSON.parse(data);
    } catch {
      failure = new Error(`malformed stream event: ${data.slice(0, 120)}`);
      return;
    }
    if (event === "error" || (payload && payload.error)) {
      const err = payload.error ?? payload;
      failure = new StreamError(err.message ?? String(err), err.code);
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

/** Reads an NDJSON response line by line (Ollama-style progress streams); a line holding `error` is thrown. */
export async function readNdjson<T>(response: Response, onLine: (line: T) => void): Promise<void> {
  if (!response.body) throw new Error("response has no body");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const handle = (text: string): void => {
    const trimmed = text.trim();
    if (!trimmed) return;
    const payload = JSON.parse(trimmed);
    if (payload && payload.error) {
      const err = typeof payload.error === "string" ? { message: payload.error, code: payload.code } : payload.error;
      throw new StreamError(err.message ?? "stream failed", err.code);
    }
    onLine(payload as T);
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        handle(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    }
    handle(buffer + decoder.decode());
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  }
}
