// The one place HTTP maps errors to responses: ReflexiaError codes via the code table, fastify's own errors to
// their codes, anything else to RFX_INTERNAL; the body is always {error: {code, message}}.
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ERROR_CODES, ReflexiaError, type ErrorCode } from "../errors/index.ts";

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "RFX_INVALID_JSON",
  FST_ERR_CTP_EMPTY_JSON_BODY: "RFX_INVALID_JSON",
  FST_ERR_CTP_BODY_TOO_LARGE: "RFX_PAYLOAD_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "RFX_UNSUPPORTED_MEDIA",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "RFX_BAD_REQUEST",
  FST_ERR_NOT_FOUND: "RFX_NOT_FOUND",
  FST_ERR_VALIDATION: "RFX_VALIDATION",
  FST_REQ_FILE_TOO_LARGE: "RFX_PAYLOAD_TOO_LARGE",
  FST_PARTS_LIMIT: "RFX_PAYLOAD_TOO_LARGE",
  FST_FILES_LIMIT: "RFX_PAYLOAD_TOO_LARGE",
  FST_FIELDS_LIMIT: "RFX_PAYLOAD_TOO_LARGE",
  FST_INVALID_MULTIPART_CONTENT_TYPE: "RFX_UNSUPPORTED_MEDIA",
};

/** Converts anything thrown in a route into a ReflexiaError with the right code. */
export function toHttpError(error: unknown): ReflexiaError {
  if (error instanceof ReflexiaError) return error;
  const e = error as FastifyError & { validation?: unknown; statusCode?: number };
  if (e && e.validation) {
    return new ReflexiaError("RFX_VALIDATION", e.message, { validation: e.validation });
  }
  const mapped = e?.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return new ReflexiaError(mapped, e.message);
  // JSON.parse / secure-json-parse failures arrive as SyntaxError with status 400.
  if (e instanceof SyntaxError && e.statusCode === 400) return new ReflexiaError("RFX_INVALID_JSON", `invalid JSON body: ${e.message}`);
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  if (status === 429) return new ReflexiaError("RFX_RATE_LIMITED", e.message || "rate limit exceeded");
  if (status === 404) return new ReflexiaError("RFX_NOT_FOUND", e.message);
  if (status === 413) return new ReflexiaError("RFX_PAYLOAD_TOO_LARGE", e.message);
  if (status === 415) return new ReflexiaError("RFX_UNSUPPORTED_MEDIA", e.message);
  if (status >= 400 && status < 500) return new ReflexiaError("RFX_BAD_REQUEST", e.message);
  return new ReflexiaError("RFX_INTERNAL", "internal server error", undefined, { cause: error });
}

export function errorBody(e: ReflexiaError): { error: { code: string; message: string } } {
  return { error: { code: e.code, message: e.message } };
}

export function httpErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toHttpError(error);
  const status = ERROR_CODES[e.code].status;
  if (status >= 500 && e.code !== "RFX_QUEUE_FULL" && e.code !== "RFX_NOT_READY" && e.code !== "RFX_MEMORY_BUDGET") {
    request.log.error({ err: e.cause ?? error }, "request failed");
  }
  if (e.code === "RFX_QUEUE_FULL" || e.code === "RFX_NOT_READY") {
    const retry = typeof e.details?.retryAfterSeconds === "number" ? e.details.retryAfterSeconds : 1;
    reply.header("retry-after", String(retry));
  }
  return reply.status(status).type("application/json; charset=utf-8").send(errorBody(e));
}
