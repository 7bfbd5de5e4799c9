// The page's HTTP access: the API key (kept in localStorage), JSON requests, and errors in the server's
// {error: {code, message}} shape turned into ApiError with a sentence a person can act on.
const KEY_STORAGE = "reflexia.apiKey";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

let apiKey = localStorage.getItem(KEY_STORAGE) ?? "";

export function getApiKey(): string {
  return apiKey;
}

export function setApiKey(key: string): void {
  apiKey = key.trim();
  if (apiKey) localStorage.setItem(KEY_STORAGE, apiKey);
  else localStorage.removeItem(KEY_STORAGE);
}

function headers(extra: HeadersInit | undefined): Headers {
  const h = new Headers(extra);
  if (apiKey) h.set("Authorization", `Bearer ${apiKey}`);
  return h;
}

async function toApiError(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (body?.error) {
      code = body.error.code ?? body.code ?? code;
      message = typeof body.error === "string" ? body.error : (body.error.message ?? message);
    }
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(res.status, code, message);
}

export async function api(path: string, options: RequestInit = {}): Promise<Response> {
  const res = await fetch(path, { ...options, headers: headers(options.headers) });
  if (!res.ok) throw await toApiError(res);
  return res;
}

export async function apiJson<T>(path: string, options?: RequestInit): Promise<T> {
  return (await api(path, options)).json() as Promise<T>;
}

/** POST with a JSON body. */
export function postJson(path: string, body: unknown, options: RequestInit = {}): Promise<Response> {
  return api(path, {
    ...options,
    method: "POST",
    headers: { "Content-Type": "application/json", ...(options.headers as Record<string, string> | undefined) },
    body: JSON.stringify(body),
  });
}

export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return "The server requires an API key: enter it under Connection and press Save.";
    return `${err.message} (${err.code})`;
  }
  const e = err as { message?: string; code?: string } | null;
  if (e?.message) return e.code ? `${e.message} (${e.code})` : e.message;
  return String(err);
}

export function isUnauthorized(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401;
}
