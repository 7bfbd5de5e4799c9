// Typed HTTP client of a Reflexia server (Ollama-style and Reflexia endpoints), used by remote CLI commands,
// load tests and benchmarks; errors come back as ReflexiaError with the server's code.
import { ERROR_CODES, ReflexiaError, type ErrorCode } from "../errors/index.ts";

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8000 */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` when set. */
  apiKey?: string;
  /** Defaults to globalThis.fetch. */
  fetch?: typeof fetch;
}

export interface GenerateOptionsBody {
  temperature?: number;
  num_ctx?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  num_predict?: number;
  stop?: string[];
  repeat_penalty?: number;
}

export interface ReflexiaMetaBody {
  variant: string;
  model: string;
  tag: string;
  quantization: string;
  reason: string;
  complexity: { level: string; score: number } | null;
  memory_pressure: number | null;
  cache: "hit" | "miss" | "bypass";
  role: string | null;
  queue_ms: number;
  load_ms: number;
  /** Prompt tokens served from the prefix cache, which prompt_eval_count leaves out. */
  cached_prompt_tokens: number;
}

export interface GenerateRequestBody {
  model?: string;
  prompt: string;
  system?: string;
  raw?: boolean;
  role?: string;
  keep_alive?: number | string;
  options?: GenerateOptionsBody;
}

export interface ChatRequestBody {
  model?: string;
  rag?: boolean;
  messages: { role: "system" | "user" | "assistant" | "tool"; content: string }[];
  role?: string;
  keep_alive?: number | string;
  options?: GenerateOptionsBody;
}

/** The final chunk of /api/generate and /api/chat (durations in ns). */
export interface GenerateFinal {
  model: string;
  done: true;
  done_reason: string;
  response?: string;
  message?: { role: string; content: string };
  total_duration: number;
  load_duration: number;
  prompt_eval_count: number;
  prompt_eval_duration: number;
  eval_count: number;
  eval_duration: number;
  reflexia: ReflexiaMetaBody;
}

export interface StreamEvents {
  /** Each text piece with the time it arrived (performance.now()). */
  onText?(text: string, at: number): void;
  signal?: AbortSignal;
}

export interface ReflexiaClient {
  readonly baseUrl: string;
  /** Non-streamed generate: the final object with the whole `response`. */
  generate(body: GenerateRequestBody, signal?: AbortSignal): Promise<GenerateFinal>;
  /** Streamed generate (NDJSON); resolves with the final chunk. */
  generateStream(body: GenerateRequestBody, events?: StreamEvents): Promise<GenerateFinal>;
  chat(body: ChatRequestBody, signal?: AbortSignal): Promise<GenerateFinal>;
  chatStream(body: ChatRequestBody, events?: StreamEvents): Promise<GenerateFinal>;
  embed(model: string, input: string[]): Promise<{ model: string; embeddings: number[][] }>;
  status(): Promise<Record<string, unknown>>;
  roles(): Promise<{ roles: { id: string; name: string; category: string; description: string }[] }>;
  tags(): Promise<{ models: { name: string; size: number; details: { quantization_level: string } }[] }>;
  version(): Promise<{ version: string }>;
  /** True when /readyz answers 200. */
  ready(): Promise<boolean>;
  /** Any JSON endpoint (RFX_ errors thrown as ReflexiaError); `undefined` for an empty body. */
  call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T>;
  /** An NDJSON progress endpoint (/api/pull, /api/create): each object to `onLine`, a streamed error thrown. */
  progress(path: string, body: unknown, onLine: (line: Record<string, unknown>) => void): Promise<void>;
  /**
   * Uploads a blob by digest (POST /api/blobs/:digest) unless the server already has it. A function body is opened
   * only when the upload happens, and streamed (a file of any size, never read whole into memory).
   */
  uploadBlob(digest: string, body: Uint8Array<ArrayBuffer> | (() => ReadableStream<Uint8Array>)): Promise<void>;
}

async function errorOf(res: Response): Promise<ReflexiaError> {
  let code: ErrorCode = "RFX_INTERNAL";
  let message = `HTTP ${res.status}`;
  try {
    // Native routes answer {error: {code, message}}, Ollama routes {error: "message", code}.
    const body = (await res.json()) as { error?: string | { code?: string; message?: string }; code?: string };
    const e = typeof body.error === "string" ? { code: body.code, message: body.error } : body.error;
    if (e?.code && e.code in ERROR_CODES) code = e.code as ErrorCode;
    if (e?.message) message = e.message;
  } catch {
    // Not JSON: keep the status line.
  }
  return new ReflexiaError(code, message, { status: res.status, retryAfter: res.headers.get("retry-after") });
}

export function createReflexiaClient(options: ClientOptions): ReflexiaClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  const auth: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};

  const request = async (method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> => {
    // A content-type without a body is refused by the server (an empty JSON body is invalid JSON).
    const res = await doFetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? auth : { ...auth, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!res.ok) throw await errorOf(res);
    return res;
  };
  const json = async <T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> =>
    (await (await request(method, path, body, signal)).json()) as T;

  /**
   * Reads an NDJSON body line by line; a `{"error": …}` line is thrown. The last line may lack its newline (a reply
   * that is one JSON object, such as /api/generate's load-only answer).
   */
  const ndjson = async (res: Response, onLine: (chunk: Record<string, unknown>, at: number) => void): Promise<void> => {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const take = (text: string, at: number): void => {
      const line = text.trim();
      if (!line) return;
      const chunk = JSON.parse(line) as Record<string, unknown>;
      // Ollama routes stream {"error": "message", "code"}, native ones (/api/models/quantize) {"error": {code, message}}.
      const error = chunk.error as string | { code?: string; message?: string } | undefined;
      if (error !== undefined) {
        const e = typeof error === "string" ? { code: chunk.code as string | undefined, message: error } : error;
        throw new ReflexiaError(
          e.code && e.code in ERROR_CODES ? (e.code as ErrorCode) : "RFX_INTERNAL",
          e.message ?? "the stream ended with an error",
        );
      }
      onLine(chunk, at);
    };
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const at = performance.now();
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        take(buf.slice(0, nl), at);
        buf = buf.slice(nl + 1);
      }
    }
    take(buf + decoder.decode(), performance.now());
  };

  const stream = async (
    path: string,
    body: unknown,
    field: "response" | "message",
    events: StreamEvents = {},
  ): Promise<GenerateFinal> => {
    const res = await request("POST", path, body, events.signal);
    let final: GenerateFinal | null = null;
    await ndjson(res, (chunk, at) => {
      if (chunk.done === true) final = chunk as unknown as GenerateFinal;
      else {
        const text = field === "response" ? (chunk.response as string) : (chunk.message as { content: string }).content;
        if (text) events.onText?.(text, at);
      }
    });
    if (!final) throw new ReflexiaError("RFX_INTERNAL", "the stream ended without a final chunk");
    return final;
  };

  return {
    baseUrl,
    generate: (body, signal) => json("POST", "/api/generate", { ...body, stream: false }, signal),
    generateStream: (body, events) => stream("/api/generate", { ...body, stream: true }, "response", events),
    chat: (body, signal) => json("POST", "/api/chat", { ...body, stream: false }, signal),
    chatStream: (body, events) => stream("/api/chat", { ...body, stream: true }, "message", events),
    embed: (model, input) => json("POST", "/api/embed", { model, input }),
    status: () => json("GET", "/api/status"),
    roles: () => json("GET", "/api/roles"),
    tags: () => json("GET", "/api/tags"),
    version: () => json("GET", "/api/version"),
    async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
      const res = await request(method, path, body, signal);
      const text = await res.text();
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async progress(path, body, onLine) {
      await ndjson(await request("POST", path, body), (chunk) => onLine(chunk));
    },
    async uploadBlob(digest, body) {
      const url = `${baseUrl}/api/blobs/${digest}`;
      if ((await doFetch(url, { method: "HEAD", headers: auth })).status === 200) return;
      const res = await doFetch(url, {
        method: "POST",
        headers: { ...auth, "content-type": "application/octet-stream" },
        ...(typeof body === "function" ? { body: body(), duplex: "half" } : { body }),
      } as RequestInit);
      if (!res.ok) throw await errorOf(res);
    },
    async ready() {
      try {
        return (await doFetch(`${baseUrl}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
  };
}
