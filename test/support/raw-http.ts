// Sends a request over a plain TCP socket exactly as written (request target, headers and body untouched by any
// HTTP client's normalisation) and reads the whole response; for the URL-spelling and malformed-request tests.
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type RawRequest =
  | {
      method: string;
      /** The request target as sent: "/%61pi/tags", "http://x/api/tags", "*", "//api/tags"… */
      target: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
    }
  | {
      /** Bytes sent verbatim instead of a request built from fields. */
      raw: Buffer | string;
    };

/** One request on its own connection (`connection: close`), parsed once the server closes it. */
export function rawHttp(port: number, req: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  const what = "raw" in req ? JSON.stringify(String(req.raw).slice(0, 60)) : `${req.method} ${req.target}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response to ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (d) => chunks.push(d));
    socket.on("error", () => {
      // A reset after the response was written still leaves a response to parse below.
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const headEnd = text.indexOf("\r\n\r\n");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m || headEnd < 0)
        return reject(new Error(`no HTTP response to ${what}: ${JSON.stringify(text.slice(0, 200))}`));
      const headers: Record<string, string> = {};
      for (const line of text.slice(0, headEnd).split("\r\n").slice(1)) {
        const i = line.indexOf(":");
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let body: Buffer = Buffer.from(text.slice(headEnd + 4), "latin1");
      if (/chunked/i.test(headers["transfer-encoding"] ?? "")) body = dechunk(body);
      resolve({ status: Number(m[1]), headers, body: body.toString("utf8") });
    });
    socket.on("connect", () => {
      if ("raw" in req) {
        socket.write(req.raw);
        return;
      }
      const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
      const headers: Record<string, string> = { host: `127.0.0.1:${port}`, connection: "close", ...req.headers };
      if (body && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length"))
        headers["content-length"] = String(body.length);
      const head = `${req.method} ${req.target} HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("")}\r\n`;
      socket.write(body ? Buffer.concat([Buffer.from(head, "latin1"), body]) : Buffer.from(head, "latin1"));
    });
  });
}

function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const eol = buf.indexOf("\r\n", i);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(i, eol).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
