// POST to an upstream over node:http(s) with kept-alive sockets, the response body as a Node stream: the hot path
// of a relayed token stream (Node 20's fetch hands bodies over as web streams, several times the CPU per chunk).
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

/** A failed request before any response: `reset` when the server closed the connection rather than refusing it. */
export class PostError extends Error {
  constructor(
    message: string,
    readonly reset: boolean,
  ) {
    super(message);
  }
}

/** Resolves with the response (status, headers, body as a UTF-8 string stream) once its headers arrive. */
export function postStream(
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const u = new URL(url);
  const https = u.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      u,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        agent: https ? httpsAgent : httpAgent,
        signal,
      },
      (res) => {
        res.setEncoding("utf8");
        resolve(res);
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => {
      // Closed before any response: a kept-alive socket the server had let go, or a server shedding connections
      // (cpp-httplib closes what its HTTP thread pool cannot queue). A refused connection is ECONNREFUSED instead.
      const reset = e.code === "ECONNRESET" || e.message === "socket hang up";
      reject(new PostError(e.message, reset));
    });
    req.end(body);
  });
}
