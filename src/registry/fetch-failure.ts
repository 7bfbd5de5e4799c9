// Why a fetch() failed, as one sentence: undici's "fetch failed" hides the reason in `cause`, and OpenSSL's text
// there spans lines and names no remedy.

/**
 * The reason `e` (thrown by fetch) gives, on one line. An https:// request answered in plain HTTP (OpenSSL's "wrong
 * version number") is said as such, followed by `plainHttpHint` (how the caller's user asks for plain http).
 */
export function fetchFailureReason(e: unknown, plainHttpHint: string): string {
  type Failure = Error & { code?: string; cause?: Failure };
  const err = e as Failure;
  const cause: Failure = err.cause ?? err;
  if (cause.code === "ERR_SSL_WRONG_VERSION_NUMBER" || /wrong version number/i.test(cause.message ?? ""))
    return `the server answered in plain HTTP, not HTTPS; ${plainHttpHint}`;
  return String(cause.message ?? err)
    .replace(/\s+/g, " ")
    .trim();
}
