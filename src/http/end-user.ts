// OpenAI's `user` names the end user a request is made for, so that abuse can be traced to them. Here that is the
// server's own log: from the handler on, the request's log lines ("request completed" included) carry `end_user`.
import type { FastifyInstance } from "fastify";

/** Longest end-user id copied into a log line. */
const MAX_END_USER = 256;

export function logEndUser(scope: FastifyInstance): void {
  scope.addHook("preHandler", async (request, reply) => {
    // Bodies are checked first: on a route whose schema does not declare `user`, the field was already refused.
    const user = (request.body as { user?: unknown } | null | undefined)?.user;
    if (typeof user !== "string" || user === "") return;
    const log = request.log.child({ end_user: user.slice(0, MAX_END_USER) });
    request.log = log;
    reply.log = log;
  });
}
