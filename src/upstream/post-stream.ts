// One streamed POST to an upstream over node:http(s) with kept-alive connections: far less work per request and per
// event than fetch's web streams, which matters when a front relays thousands of events a second on a small host.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: Infinity, scheduling: "lifo" });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: Infinity, scheduling: "lifo" });

/** Why a request failed before its response began. */
export type PostFailure = "reset" | "connect" | "aborted";

export class PostError extends Error {
  constructor(
    readonly failure: PostFailure,
    message: string,
  ) {
    super(message);
  }
}

// Errors of a socket the server closed under us (a kept-alive one it had let go, or one it shed): nothing was read.
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/**
 * POSTs `body` (JSON) to `url` and resolves with the response once its headers are in. `signal` aborts the request
 * (and its response body) at any point; the connection then closes. Rejects with PostError.
 */
export function postStream(
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const https = target.protocol === "https:";
    const req = (https ? httpsRequest : httpRequest)(target, {
      method: "POST",
      agent: https ? httpsAgent : httpAgent,
      headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      signal,
    });
    req.on("response", resolve);
    req.on("error", (e: Error & { code?: string }) => {
      if (signal.aborted || e.name === "AbortError") reject(new PostError("aborted", "aborted"));
      else reject(new PostError(e.code && RESET_CODES.has(e.code) ? "reset" : "connect", e.message));
    });
    req.end(body);
  });
}

/** The response's body as text (at most `limit` characters), for an error message. */
export async function readText(res: IncomingMessage, limit: number): Promise<string> {
  res.setEncoding("utf8");
  let text = "";
  try {
    for await (const chunk of res) {
      if (text.length < limit) text += chunk as string;
    }
  } catch {
    // a body cut short still says what it said
  }
  return text.slice(0, limit);
}
