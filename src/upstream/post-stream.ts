// One streamed POST to an upstream over node:http(s) with kept-alive connections: less work per request and per event
// than fetch's web streams (their promise machinery showed in the front's profile), which matters when a front relays
// thousands of events a second on a small host. No connection is opened ahead of a request (tried): an idle
// connection pins one of llama-server's HTTP threads (cpp-httplib serves a connection on one thread until its
// keep-alive timeout), taken from its other clients, and the gain was within the benchmark's noise.
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
 * POSTs `body` (JSON) to `url` and resolves with the response once its headers are in; `signal` aborts it until
 * then. The caller ends the response early with `res.destroy()` (the connection then closes) or reads it to its end
 * (the connection goes back to the pool). Rejects with PostError.
 */
export async function postStream(
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  for (let stale = 0; ; stale++) {
    try {
      return await postOnce(url, body, headers, signal, stale < MAX_STALE_RETRIES);
    } catch (e) {
      if (!(e instanceof StaleSocket)) throw e;
    }
  }
}

/** Sockets in a row that may turn out closed by the server before a request is sent afresh (see StaleSocket). */
const MAX_STALE_RETRIES = 8;

/**
 * A kept-alive socket the server had already closed (llama-server closes its connection after every streamed answer,
 * other servers on their keep-alive timeout): the request was never read, so it is sent again, on another socket, without counting against
 * the endpoint. This is what Node's `request.reusedSocket` is for.
 */
class StaleSocket extends Error {}

function postOnce(
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  retryStale: boolean,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const https = target.protocol === "https:";
    // The signal ends the request only until the response begins: from then on the caller owns the response and
    // ends it with res.destroy(). (A request signal that fires later destroys a socket that may already be back in
    // the agent's pool, with an 'error' nobody listens to.)
    const req = (https ? httpsRequest : httpRequest)(target, {
      method: "POST",
      agent: https ? httpsAgent : httpAgent,
      headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    const onAbort = (): void => {
      req.destroy(new PostError("aborted", "aborted"));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    req.on("response", (res) => {
      signal.removeEventListener("abort", onAbort);
      resolve(res);
    });
    req.on("error", (e: Error & { code?: string }) => {
      signal.removeEventListener("abort", onAbort);
      const reset = e.code !== undefined && RESET_CODES.has(e.code);
      if (signal.aborted || e instanceof PostError) reject(new PostError("aborted", "aborted"));
      else if (reset && req.reusedSocket && retryStale) reject(new StaleSocket(e.message));
      else reject(new PostError(reset ? "reset" : "connect", e.message));
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
