// Domain error carrying a code from the one table; layers throw it, http maps its code to a status.
import { ERROR_CODES, type ErrorCode } from "./codes.ts";

export class ReflexiaError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ReflexiaError";
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export function isReflexiaError(e: unknown): e is ReflexiaError {
  return e instanceof ReflexiaError;
}

/** Wraps anything thrown into a ReflexiaError; unknown errors become RFX_INTERNAL. */
export function toReflexiaError(e: unknown): ReflexiaError {
  if (e instanceof ReflexiaError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new ReflexiaError("RFX_INTERNAL", msg, undefined, { cause: e });
}
