// The one place HTTP maps errors to responses: ReflexiaError codes via the code table, fastify's and Node's HTTP
// parser's own errors to their codes, anything else to RFX_INTERNAL; the body is {error: {code, message}}, or on
// Ollama routes Ollama's {error: "message"} with the code beside it.
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ERROR_CODES, ReflexiaError, type ErrorCode } from "../errors/index.ts";
import { redactStorePaths } from "../registry/redact-store-paths.ts";
import { isOllamaRoute } from "./ollama-scope.ts";
import { SECURITY_HEADERS } from "./security-headers.ts";

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
  FST_ERR_BAD_URL: "RFX_BAD_REQUEST",
  FST_ERR_MAX_PARAM_LENGTH: "RFX_URI_TOO_LONG",
  FST_ERR_CTP_INVALID_TYPE: "RFX_UNSUPPORTED_MEDIA",
  // Node's HTTP parser (the 'clientError' event): the request never reached fastify.
  HPE_HEADER_OVERFLOW: "RFX_HEADERS_TOO_LARGE",
  ERR_HTTP_REQUEST_TIMEOUT: "RFX_REQUEST_TIMEOUT",
};

/** Messages for the parser's errors, whose own text ("Parse Error: ...") says little to a client. */
const PARSER_MESSAGES: Partial<Record<ErrorCode, string>> = {
  RFX_HEADERS_TOO_LARGE: "the request headers are larger than the server accepts (16 KiB by default)",
  RFX_REQUEST_TIMEOUT: "the request was not received completely in time",
};

/** The longest path parameter the router takes (fastify's default, set explicitly so the 414 message can say it). */
export const MAX_PARAM_LENGTH = 100;

/**
 * fastify's messages that mislead or echo: its invalid-JSON text blames a content-type the client may not have
 * sent (Ollama routes parse any type as JSON, as Ollama does: curl -d sends a form type), and its long-parameter
 * text repeats the whole URL back.
 */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "the request body is not valid JSON",
  FST_ERR_CTP_EMPTY_JSON_BODY: "the request body is empty; send a JSON object",
  FST_ERR_MAX_PARAM_LENGTH: `a path parameter of the URL is longer than the server accepts (${MAX_PARAM_LENGTH} characters)`,
};

/**
 * Converts anything thrown in a route into a ReflexiaError with the right code and a message fit for a client:
 * an internal error's own text (a stack overflow, a library's message) stays in the log, and paths inside the
 * model store are never shown.
 */
export function toHttpError(error: unknown): ReflexiaError {
  if (error instanceof ReflexiaError) {
    if (error.code === "RFX_INTERNAL")
      return new ReflexiaError("RFX_INTERNAL", "internal server error", undefined, { cause: error });
    const message = redactStorePaths(error.message);
    return message === error.message ? error : new ReflexiaError(error.code, message, error.details, { cause: error });
  }
  const e = error as FastifyError & { validation?: unknown; statusCode?: number; reason?: string };
  if (e && e.validation) {
    return new ReflexiaError("RFX_VALIDATION", e.message, { validation: e.validation });
  }
  const mapped = e?.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return new ReflexiaError(mapped, FASTIFY_MESSAGES[e.code] ?? PARSER_MESSAGES[mapped] ?? e.message);
  if (typeof e?.code === "string" && e.code.startsWith("HPE_")) {
    return new ReflexiaError("RFX_BAD_REQUEST", `malformed HTTP request (${e.code}${e.reason ? `: ${e.reason}` : ""})`);
  }
  // JSON.parse / secure-json-parse failures arrive as SyntaxError with status 400.
  if (e instanceof SyntaxError && e.statusCode === 400)
    return new ReflexiaError("RFX_INVALID_JSON", `invalid JSON body: ${e.message}`);
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  if (status === 429) return new ReflexiaError("RFX_RATE_LIMITED", e.message || "rate limit exceeded");
  if (status === 404) return new ReflexiaError("RFX_NOT_FOUND", e.message);
  if (status === 413) return new ReflexiaError("RFX_PAYLOAD_TOO_LARGE", e.message);
  if (status === 415) return new ReflexiaError("RFX_UNSUPPORTED_MEDIA", e.message);
  if (status >= 400 && status < 500) return new ReflexiaError("RFX_BAD_REQUEST", e.message);
  return new ReflexiaError("RFX_INTERNAL", "internal server error", undefined, { cause: error });
}

/** OpenAI's `error.type`, which its clients branch on, from the status; the names llama-server gives them. */
function errorTypeOf(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status === 503) return "unavailable_error";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

/**
 * OpenAI's `error.param`: the request field an error is about, as a path (`messages[0].content`), when it names one
 * (`details.field`, or the first of a schema validation's failures); otherwise null.
 */
function paramOf(e: ReflexiaError): string | null {
  if (typeof e.details?.field === "string") return e.details.field;
  const first = (e.details?.validation as SchemaFailure[] | undefined)?.[0];
  return first ? schemaFieldPath(first) : null;
}

/** One failure of a route's schema, as the validator reports it. */
interface SchemaFailure {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: { missingProperty?: string; type?: unknown; allowedValues?: unknown[] };
}

/** The field a schema failure is about, as a path (`messages[0].content`); null for the whole body. */
function schemaFieldPath(f: SchemaFailure): string | null {
  const parts = (f.instancePath ?? "").split("/").filter(Boolean);
  if (f.params?.missingProperty) parts.push(f.params.missingProperty);
  const path = parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
  return path === "" ? null : path;
}

const SCHEMA_PART: Record<string, string> = {
  body: "",
  querystring: "query ",
  params: "path parameter ",
  headers: "header ",
};

/**
 * Fastify's schemaErrorFormatter: one sentence naming the field as a path (`temperature must be <= 2`). The validator
 * reports a nullable field's failure three times (the branch that failed, "must be null", "must match a schema in
 * anyOf"); only the first says what is wrong, so the other two are left out, and an enum lists its values.
 */
export function formatSchemaErrors(failures: SchemaFailure[], dataVar: string): Error {
  const told = failures.filter((f) => f.keyword !== "anyOf" && !(f.keyword === "type" && f.params?.type === "null"));
  // A field's type failures in the union's branches read as one: "must be string or array".
  const types = new Map<string, string[]>();
  const lines: string[] = [];
  for (const f of told.length > 0 ? told : failures) {
    const field = schemaFieldPath(f);
    const where = `${SCHEMA_PART[dataVar] ?? `${dataVar} `}${field ?? ""}`.trim() || dataVar;
    if (f.keyword === "type" && typeof f.params?.type === "string") {
      if (!types.has(where)) lines.push(where);
      types.set(where, [...(types.get(where) ?? []), f.params.type]);
      continue;
    }
    const what =
      f.keyword === "enum" && Array.isArray(f.params?.allowedValues)
        ? `must be one of ${f.params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`
        : f.keyword === "required"
          ? "is required"
          : (f.message ?? "is not valid");
    lines.push(`${where} ${what}`);
  }
  const said = lines.map((l) => (types.has(l) ? `${l} must be ${[...new Set(types.get(l))].join(" or ")}` : l));
  return new Error([...new Set(said)].join("; "));
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** True on the OpenAI-compatible routes: errors OpenAI has a code of its own for carry it (errorBody). */
    openai?: boolean;
  }
}

/**
 * Reflexia codes OpenAI has a code of its own for, which its clients branch on: on the OpenAI routes `code` is
 * OpenAI's and `reflexia_code` Reflexia's, and the message says what OpenAI's says (LangChain's ContextOverflowError
 * is recognised by "maximum context length" in it).
 */
const OPENAI_CODES: Partial<Record<ErrorCode, { code: string; says: string }>> = {
  RFX_CONTEXT_OVERFLOW: { code: "context_length_exceeded", says: "maximum context length" },
};

/**
 * The native and OpenAI error shape: OpenAI's `message`, `type`, `param` and `code` (an RFX_ code, except for the
 * errors OPENAI_CODES lists on the OpenAI routes, which carry OpenAI's code and the RFX_ code as `reflexia_code`).
 */
export function errorBody(
  e: ReflexiaError,
  dialect: "native" | "openai" = "native",
): {
  error: { code: string; message: string; type: string; param: string | null; reflexia_code?: string };
} {
  const error = { code: e.code, message: e.message, type: errorTypeOf(ERROR_CODES[e.code].status), param: paramOf(e) };
  const openai = dialect === "openai" ? OPENAI_CODES[e.code] : undefined;
  if (!openai) return { error };
  const message = error.message.includes(openai.says) ? error.message : `${error.message} (${openai.says} exceeded)`;
  return { error: { ...error, code: openai.code, message, reflexia_code: e.code } };
}

/** Which error shape a matched route answers in, by its config (never by the URL). */
export function errorDialectOf(request: FastifyRequest): "native" | "openai" {
  return !request.is404 && request.routeOptions.config?.openai === true ? "openai" : "native";
}

/** Ollama's error shape (its clients read `error` as a string), with the code as a second top-level field. */
export function ollamaErrorBody(e: ReflexiaError): { error: string; code: string } {
  return { error: e.message, code: e.code };
}

/** Refusals a client should retry later: each carries Retry-After (details.retryAfterSeconds, else 1 s). */
const RETRY_AFTER_CODES: ReadonlySet<string> = new Set([
  "RFX_QUEUE_FULL",
  "RFX_NOT_READY",
  "RFX_UPSTREAM_UNAVAILABLE",
  "RFX_QUOTA_EXCEEDED",
]);

/**
 * Refusals made before any route's own work, which an unmatched URL gets too (a missing key, the rate limit): their
 * body is the same on every URL, or its shape would tell an existing Ollama route from one that does not exist and
 * the route map could be probed without a key. Ollama's shape, which the OpenAI clients report as well (the `ollama`
 * client shows the native shape's object as "[object Object]").
 */
const ROUTE_BLIND_CODES: ReadonlySet<string> = new Set(["RFX_UNAUTHORIZED", "RFX_RATE_LIMITED"]);

export function httpErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toHttpError(error);
  const status = ERROR_CODES[e.code].status;
  if (status >= 500 && !RETRY_AFTER_CODES.has(e.code) && e.code !== "RFX_MEMORY_BUDGET") {
    request.log.error({ err: e.cause ?? error }, "request failed");
  }
  if (RETRY_AFTER_CODES.has(e.code)) {
    const retry = typeof e.details?.retryAfterSeconds === "number" ? e.details.retryAfterSeconds : 1;
    reply.header("retry-after", String(retry));
  }
  return reply
    .status(status)
    .type("application/json; charset=utf-8")
    .send(
      isOllamaRoute(request) || ROUTE_BLIND_CODES.has(e.code)
        ? ollamaErrorBody(e)
        : errorBody(e, errorDialectOf(request)),
    );
}

/**
 * Fastify's `frameworkErrors`: errors the router raises before any hook runs (a malformed percent-encoding, an
 * over-long path parameter), in the same shape and with the same headers as every other error.
 */
export function frameworkErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.headers(SECURITY_HEADERS);
  return httpErrorHandler(error, request, reply);
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser rejected the bytes (a header block over the limit, a bad
 * Content-Length, a malformed request line) before a request object exists, so the reply is written on the
 * socket by hand, then the connection is closed, as Node itself does.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  // A reset or an already destroyed socket has nobody left to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const e = toHttpError(error);
  const status = ERROR_CODES[e.code].status;
  const body = JSON.stringify(errorBody(e));
  const headers = {
    ...SECURITY_HEADERS,
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(body)),
    connection: "close",
  };
  if (socket.writable) {
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n${head}\r\n${body}`);
  }
  socket.destroy(error);
}
