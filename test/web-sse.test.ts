// The web UI's SSE parser, fed the byte streams a server may really produce (split anywhere, CRLF, comments).
import { describe, expect, it } from "vitest";
import { createSseParser, readNdjson, readSseJson } from "../web/src/sse.ts";

function parseAll(chunks: string[]): [string, string][] {
  const out: [string, string][] = [];
  const p = createSseParser((data, event) => out.push([data, event]));
  for (const c of chunks) p.push(c);
  p.end();
  return out;
}

const STREAM =
  ": keep-alive comment\n\n" +
  'data: {"a":1}\n\n' +
  'event: error\r\ndata: {"error":{"code":"X"}}\r\n\r\n' +
  "data: line1\ndata: line2\n\n" +
  "data:nospace\r\r" +
  "data: [DONE]\n\n";

const EXPECTED: [string, string][] = [
  ['{"a":1}', "message"],
  ['{"error":{"code":"X"}}', "error"],
  ["line1\nline2", "message"],
  ["nospace", "message"],
  ["[DONE]", "message"],
];

describe("createSseParser", () => {
  it("parses a whole stream", () => {
    expect(parseAll([STREAM])).toEqual(EXPECTED);
  });

  it("gives the same events for every split point, including between CR and LF", () => {
    for (let i = 1; i < STREAM.length; i++) {
      expect(parseAll([STREAM.slice(0, i), STREAM.slice(i)]), `split at ${i}`).toEqual(EXPECTED);
    }
  });

  it("gives the same events fed one character at a time", () => {
    expect(parseAll([...STREAM])).toEqual(EXPECTED);
  });

  it("flushes a last event that lacks the blank line", () => {
    expect(parseAll(['data: {"x":2}'])).toEqual([['{"x":2}', "message"]]);
  });
});

function responseOf(chunks: string[]): Response {
  const enc = new TextEncoder();
  return new Response(
    new ReadableStream({
      start(c) {
        for (const ch of chunks) c.enqueue(enc.encode(ch));
        c.close();
      },
    }),
  );
}

describe("readSseJson", () => {
  it("yields JSON payloads until [DONE] and ignores anything after it", async () => {
    const got: unknown[] = [];
    const r = await readSseJson(
      responseOf(['data: {"n":1}\n\ndata: {"n"', ':2}\n\ndata: [DONE]\n\ndata: {"n":3}\n\n']),
      (j) => got.push(j),
    );
    expect(got).toEqual([{ n: 1 }, { n: 2 }]);
    expect(r.completed).toBe(true);
  });

  it("decodes multi-byte UTF-8 split across chunks", async () => {
    const bytes = new TextEncoder().encode('data: {"t":"héllo ✓"}\n\n');
    const got: unknown[] = [];
    const body = new ReadableStream({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    await readSseJson(new Response(body), (j) => got.push(j));
    expect(got).toEqual([{ t: "héllo ✓" }]);
  });

  it("throws the server's error event with its code", async () => {
    const p = readSseJson(
      responseOf(['data: {"n":1}\n\n', 'event: error\ndata: {"error":{"code":"RFX_ENGINE","message":"boom"}}\n\n']),
      () => {},
    );
    await expect(p).rejects.toMatchObject({ message: "boom", code: "RFX_ENGINE" });
  });

  it("reports a stream that ended without [DONE]", async () => {
    const r = await readSseJson(responseOf(['data: {"n":1}\n\n']), () => {});
    expect(r.completed).toBe(false);
  });
});

describe("readNdjson", () => {
  it("yields each line, across chunk boundaries, and a last line without newline", async () => {
    const got: unknown[] = [];
    await readNdjson(responseOf(['{"status":"a"}\n{"sta', 'tus":"b","completed":0.5}\n\n{"status":"success"}']), (l) =>
      got.push(l),
    );
    expect(got).toEqual([{ status: "a" }, { status: "b", completed: 0.5 }, { status: "success" }]);
  });

  it("throws an error line with its code (Reflexia and Ollama shapes)", async () => {
    await expect(
      readNdjson(responseOf(['{"status":"a"}\n{"error":{"code":"RFX_VALIDATION","message":"bad"}}\n']), () => {}),
    ).rejects.toMatchObject({ message: "bad", code: "RFX_VALIDATION" });
    await expect(readNdjson(responseOf(['{"error":"model not found"}\n']), () => {})).rejects.toMatchObject({
      message: "model not found",
    });
  });
});
