// Error codes and the domain error class.
export { ERROR_CODES, type ErrorCode } from "./codes.ts";
export { ReflexiaError, isReflexiaError, toReflexiaError } from "./reflexia-error.ts";
