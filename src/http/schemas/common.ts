// TypeBox building blocks shared by the API families: each is a JSON schema (fastify's ajv validates it) and, via
// the TypeBox type provider, the type of the request field it describes.
import { Type, type TSchema, type TUnsafe } from "typebox";

/**
 * A string from a fixed list, as `{type: "string", enum}`: ajv then says "must be string" for a wrong type and
 * "must be equal to one of the allowed values" otherwise (a union of literals would report every branch).
 */
export const stringEnum = <const T extends readonly string[]>(values: T): TUnsafe<T[number]> =>
  Type.Unsafe<T[number]>({ type: "string", enum: values });

/** `schema` or JSON null (OpenAI clients send null for "unset"). */
export const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A model reference: `name` or `name:tag` (validated precisely by the registry). */
export const modelRefSchema = Type.String({ minLength: 1, maxLength: 300 });

/** frequency_penalty and presence_penalty: OpenAI's range, on the OpenAI bodies and in Ollama's options alike. */
export const penaltySchema = Type.Number({ minimum: -2, maximum: 2 });

/** repeat_penalty (llama.cpp's multiplicative penalty; 1 is off; 0 would divide by zero), on both APIs. */
export const repeatPenaltySchema = Type.Number({ exclusiveMinimum: 0, maximum: 10 });

/** A stop sequence or a list of them. */
export const stopSchema = Type.Union([
  Type.String({ maxLength: 1000 }),
  Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 16 }),
  Type.Null(),
]);

/** Ollama keep_alive: seconds as a number, or a duration string ("5m", "1h30m", "-1", "0"). */
export const keepAliveSchema = Type.Union([Type.Number(), Type.String({ maxLength: 32 })]);

/**
 * The `*` of a wildcard route (`/v1/models/*`): any string, so the lookup, not validation, answers an unknown
 * name (404 RFX_MODEL_NOT_FOUND); declared only so the route reads it typed.
 */
export const wildcardParamsSchema = Type.Object({ "*": Type.String() });

/** Reflexia's expert role id. */
/** A sampling seed: any integer JSON can carry exactly (OpenAI's and Ollama's are 64-bit), taken modulo 2^32. */
export const seedSchema = Type.Integer({ minimum: -(2 ** 53), maximum: 2 ** 53 });

export const roleIdSchema = Type.String({ minLength: 1, maxLength: 100 });

/** Upper bound for token-count fields in schemas; the service then checks against the real context size. */
export const MAX_TOKENS_BOUND = 2 ** 31 - 1;
