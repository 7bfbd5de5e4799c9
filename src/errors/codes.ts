// The one table of Reflexia error codes: each code's HTTP status and a description that docs and tests read.
export const ERROR_CODES = {
  RFX_BAD_REQUEST: { status: 400, description: "The request is malformed or a field has the wrong type or range." },
  RFX_INVALID_JSON: { status: 400, description: "The request body is not valid JSON." },
  RFX_VALIDATION: { status: 400, description: "A field failed validation; the message names it." },
  RFX_CONFIG_INVALID: {
    status: 400,
    description: "A configuration key has an invalid value; the message names the key.",
  },
  RFX_UNAUTHORIZED: { status: 401, description: "Authentication is enabled and no valid API key was given." },
  RFX_REQUEST_TIMEOUT: { status: 408, description: "The client did not send the whole request in time." },
  RFX_NOT_FOUND: { status: 404, description: "The route or resource does not exist." },
  RFX_MODEL_NOT_FOUND: { status: 404, description: "No model or variant with that name is in the store." },
  RFX_DOCUMENT_NOT_FOUND: { status: 404, description: "No document with that id is stored." },
  RFX_MODEL_EXISTS: { status: 409, description: "A model variant with that name and tag already exists." },
  RFX_PUSH_UNSUPPORTED: {
    status: 400,
    description: "/api/push: Reflexia pulls from registries but never publishes to one.",
  },
  RFX_DIGEST_MISMATCH: {
    status: 400,
    description: "An uploaded blob's sha256 does not match the digest in its URL.",
  },
  RFX_BENCHMARK_RUNNING: {
    status: 409,
    description: "A benchmark started over the API is still running; cancel it or wait for it to finish.",
  },
  RFX_PAYLOAD_TOO_LARGE: { status: 413, description: "The body, prompt or upload exceeds its configured limit." },
  RFX_URI_TOO_LONG: { status: 414, description: "A path parameter of the URL is longer than the router accepts." },
  RFX_UNSUPPORTED_MEDIA: {
    status: 415,
    description: "The body's content type, or the upload's content, is not supported.",
  },
  RFX_INVALID_GGUF: {
    status: 422,
    description:
      "The file is not a valid GGUF model (bad magic, truncated or unreadable, or no architecture or tensors to load).",
  },
  RFX_EMPTY_DOCUMENT: { status: 422, description: "The document contains no extractable text." },
  RFX_CONTEXT_OVERFLOW: { status: 400, description: "The prompt does not fit in the model's context window." },
  RFX_RATE_LIMITED: { status: 429, description: "Too many requests from this client; retry later." },
  RFX_QUOTA_EXCEEDED: {
    status: 429,
    description: "The API key used up its token or request quota for the current window; retry after Retry-After.",
  },
  RFX_HEADERS_TOO_LARGE: {
    status: 431,
    description: "The request's headers exceed the server's limit (16 KiB by default).",
  },
  RFX_CANCELLED: { status: 499, description: "The client cancelled the request before it finished." },
  RFX_INTERNAL: { status: 500, description: "An unexpected internal error." },
  RFX_DOWNLOAD_FAILED: { status: 502, description: "A model download failed (HTTP error, size or sha256 mismatch)." },
  RFX_UPSTREAM_ERROR: {
    status: 502,
    description: "A remote variant's upstream server refused the request or broke off its answer after it had begun.",
  },
  RFX_UPSTREAM_UNAVAILABLE: {
    status: 503,
    description: "No endpoint of a remote variant is healthy or every one failed; retry after the Retry-After delay.",
  },
  RFX_QUEUE_FULL: { status: 503, description: "The request queue is full; retry after the Retry-After delay." },
  RFX_MEMORY_BUDGET: {
    status: 503,
    description: "Loading the variant would exceed the MAX_MEMORY_PERCENT memory budget.",
  },
  RFX_NOT_READY: { status: 503, description: "The server is starting or shutting down." },
  RFX_ENGINE: { status: 500, description: "The inference engine failed to load or run the model." },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
