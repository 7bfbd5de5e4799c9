// Schemas of the OpenAI-compatible request bodies, and the types the routes read them as. A field not declared here,
// at any depth the schema describes, is refused by path (known-fields.ts), as OpenAI refuses an unrecognized argument.
import { Type, type Static, type TObject } from "typebox";
import { LOGIT_BIAS_BOUND } from "../../engine/resolve-sampling.ts";
import {
  keepAliveSchema,
  MAX_TOKENS_BOUND,
  modelRefSchema,
  nullable,
  penaltySchema,
  repeatPenaltySchema,
  roleIdSchema,
  seedSchema,
  stopSchema,
  stringEnum,
} from "./common.ts";
import { ragRequestProperties } from "./documents.ts";

// `refusal`: an assistant message sent back as OpenAI returned it may carry its refusal as a part of that type.
const contentPartSchema = Type.Object({
  type: Type.String(),
  text: Type.Optional(Type.String()),
  refusal: Type.Optional(Type.String()),
});

const toolCallSchema = Type.Object({
  id: Type.String({ maxLength: 200 }),
  type: Type.Optional(Type.Literal("function")),
  function: Type.Object({ name: Type.String({ maxLength: 200 }), arguments: Type.String() }),
  // The call's place in a streamed answer: clients that add up the deltas keep it; the array's order says the same.
  index: Type.Optional(Type.Integer({ minimum: 0 })),
});

// The fields of an assistant message as OpenAI returns it (refusal, annotations, audio, function_call) are declared
// because clients send the message back as they got it; openai-request.ts honours or refuses each. Any other field
// of a message, a content part or a tool call is refused by path (refuseUnknownFields in known-fields.ts walks the
// whole body), as OpenAI does.
export const messageSchema = Type.Object({
  role: stringEnum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: Type.Optional(Type.Union([Type.String(), Type.Null(), Type.Array(contentPartSchema, { maxItems: 1000 })])),
  name: Type.Optional(Type.String()),
  tool_calls: Type.Optional(nullable(Type.Array(toolCallSchema, { maxItems: 128 }))),
  tool_call_id: Type.Optional(Type.String({ maxLength: 200 })),
  refusal: Type.Optional(nullable(Type.String())),
  annotations: Type.Optional(nullable(Type.Array(Type.Unknown(), { maxItems: 1000 }))),
  audio: Type.Optional(nullable(Type.Object({ id: Type.String() }))),
  function_call: Type.Optional(nullable(Type.Object({ name: Type.String(), arguments: Type.String() }))),
});

export type OpenAiMessage = Static<typeof messageSchema>;

/** Most choices one request may ask for (`n`): each is a sequence of its own. */
export const MAX_CHOICES = 8;

export const functionToolSchema = Type.Object({
  type: Type.Literal("function"),
  function: Type.Object({
    name: Type.String({ maxLength: 200 }),
    description: Type.Optional(Type.String()),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    strict: Type.Optional(nullable(Type.Boolean())),
  }),
});
export type OpenAiTool = Static<typeof functionToolSchema>;

export const toolChoiceSchema = Type.Union([
  stringEnum(["auto", "none", "required"]),
  Type.Object({ type: Type.Literal("function"), function: Type.Object({ name: Type.String() }) }),
]);
export type OpenAiToolChoice = Static<typeof toolChoiceSchema>;

const responseFormatSchema = Type.Object({
  type: stringEnum(["text", "json_object", "json_schema"]),
  json_schema: Type.Optional(
    Type.Object({
      name: Type.Optional(Type.String()),
      description: Type.Optional(Type.String()),
      schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      strict: Type.Optional(nullable(Type.Boolean())),
    }),
  ),
});
export type OpenAiResponseFormat = Static<typeof responseFormatSchema>;

const tokenCount = nullable(Type.Integer({ minimum: 1, maximum: MAX_TOKENS_BOUND }));

const sampling = {
  max_tokens: Type.Optional(tokenCount),
  max_completion_tokens: Type.Optional(tokenCount),
  temperature: Type.Optional(nullable(Type.Number({ minimum: 0, maximum: 2 }))),
  /** Above 0, as the engine takes it (a nucleus of no probability keeps nothing). */
  top_p: Type.Optional(nullable(Type.Number({ exclusiveMinimum: 0, maximum: 1 }))),
  top_k: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })),
  seed: Type.Optional(nullable(seedSchema)),
  n: Type.Optional(nullable(Type.Integer({ minimum: 1 }))),
  stop: Type.Optional(stopSchema),
  frequency_penalty: Type.Optional(nullable(penaltySchema)),
  presence_penalty: Type.Optional(nullable(penaltySchema)),
  /** Token id (a decimal string, OpenAI's form) → bias added to its logit; ids are checked against the vocabulary. */
  logit_bias: Type.Optional(
    nullable(
      Type.Record(Type.String(), Type.Number({ minimum: -LOGIT_BIAS_BOUND, maximum: LOGIT_BIAS_BOUND }), {
        maxProperties: 100_000,
      }),
    ),
  ),
  repeat_penalty: Type.Optional(repeatPenaltySchema),
  stream: Type.Optional(nullable(Type.Boolean())),
  stream_options: Type.Optional(nullable(Type.Object({ include_usage: Type.Optional(Type.Boolean()) }))),
  user: Type.Optional(Type.String()),
  /** llama-server's: false evaluates the whole prompt, taking no cached prefix (true, the default, allows it). */
  cache_prompt: Type.Optional(Type.Boolean()),
  role: Type.Optional(roleIdSchema),
  keep_alive: Type.Optional(keepAliveSchema),
  ...ragRequestProperties,
};

/** The sampling fields chat and completion bodies share. */
export type OpenAiSamplingBody = Static<TObject<typeof sampling>>;

/** OpenAI's key-value pairs for a stored object: accepted, and nothing is stored (README). */
const metadataSchema = Type.Optional(nullable(Type.Record(Type.String(), Type.String())));
/** Refused when true (the route says so by name): nothing is stored, so there is no stored object to make. */
const storeSchema = Type.Optional(nullable(Type.Boolean()));

export const chatCompletionBodySchema = Type.Object({
  model: Type.Optional(modelRefSchema),
  messages: Type.Array(messageSchema, { minItems: 1, maxItems: 10000 }),
  tools: Type.Optional(nullable(Type.Array(functionToolSchema, { maxItems: 128 }))),
  tool_choice: Type.Optional(nullable(toolChoiceSchema)),
  parallel_tool_calls: Type.Optional(nullable(Type.Boolean())),
  response_format: Type.Optional(nullable(responseFormatSchema)),
  /** llama-server's raw GBNF constraint. */
  grammar: Type.Optional(Type.String({ maxLength: 1_000_000 })),
  logprobs: Type.Optional(nullable(Type.Boolean())),
  top_logprobs: Type.Optional(nullable(Type.Integer({ minimum: 0 }))),
  store: storeSchema,
  metadata: metadataSchema,
  ...sampling,
});

export const completionBodySchema = Type.Object({
  model: Type.Optional(modelRefSchema),
  // Checked in the route, so a token-id prompt or an empty list gets a sentence rather than a validator's text.
  prompt: Type.Unknown(),
  suffix: Type.Optional(nullable(Type.String())),
  echo: Type.Optional(nullable(Type.Boolean())),
  best_of: Type.Optional(nullable(Type.Integer())),
  logprobs: Type.Optional(nullable(Type.Integer({ minimum: 0 }))),
  grammar: Type.Optional(Type.String({ maxLength: 1_000_000 })),
  ...sampling,
});

export const embeddingsBodySchema = Type.Object({
  model: Type.Optional(modelRefSchema),
  // Text or a non-empty list of texts, checked in the route, so token ids or an empty list get a sentence rather than
  // a validator's text. How many inputs is embeddings.max_inputs (EMBED_MAX_INPUTS), checked by the embed service.
  input: Type.Unknown(),
  encoding_format: Type.Optional(stringEnum(["float", "base64"])),
  dimensions: Type.Optional(Type.Integer({ minimum: 1 })),
  user: Type.Optional(Type.String()),
});

// Responses input items, function tools and tool_choice as clients send them. The body schema takes them as unknown
// values, checked one by one in openai-responses.ts with a sentence a person can act on; these schemas say which
// fields each has, and any other is refused by path (assertKnownNested). Output items of an earlier response sent
// back whole keep `id` and `status`, an output_text part its `annotations` and `logprobs`: they describe that output
// and have no place in a prompt.
/** The text parts a Responses message may carry, and its roles (openai-responses.ts checks both with a sentence). */
export const RESPONSES_TEXT_PART_TYPES = ["input_text", "output_text", "text"] as const;
export const RESPONSES_MESSAGE_ROLES = ["user", "system", "developer", "assistant"] as const;
const responsesTextPartSchema = Type.Object({
  type: stringEnum(RESPONSES_TEXT_PART_TYPES),
  text: Type.String(),
  annotations: Type.Optional(Type.Array(Type.Unknown())),
  logprobs: Type.Optional(Type.Array(Type.Unknown())),
});
const responsesItemTrace = { id: Type.Optional(Type.String()), status: Type.Optional(Type.String()) };
const reasoningTextSchema = <T extends string>(type: T) =>
  Type.Object({ type: Type.Literal(type), text: Type.String() });
export const responsesItemSchema = Type.Union([
  Type.Object({
    type: Type.Optional(Type.Literal("message")),
    role: stringEnum(RESPONSES_MESSAGE_ROLES),
    content: Type.Union([Type.String(), Type.Array(responsesTextPartSchema)]),
    ...responsesItemTrace,
  }),
  Type.Object({
    type: Type.Literal("function_call"),
    call_id: Type.String(),
    name: Type.String(),
    arguments: Type.String(),
    ...responsesItemTrace,
  }),
  Type.Object({
    type: Type.Literal("function_call_output"),
    call_id: Type.String(),
    output: Type.Unknown(),
    ...responsesItemTrace,
  }),
  // Taken only without a trace: no model here reasons (openai-responses.ts).
  Type.Object({
    type: Type.Literal("reasoning"),
    summary: Type.Array(reasoningTextSchema("summary_text")),
    content: Type.Optional(Type.Array(reasoningTextSchema("reasoning_text"))),
    encrypted_content: Type.Optional(nullable(Type.String())),
    ...responsesItemTrace,
  }),
]);
// `strict`: a call's arguments are always generated under the grammar of its parameters (tool-calls.ts).
export const responsesToolSchema = Type.Object({
  type: Type.Literal("function"),
  name: Type.String(),
  description: Type.Optional(nullable(Type.String())),
  parameters: Type.Optional(nullable(Type.Record(Type.String(), Type.Unknown()))),
  strict: Type.Optional(nullable(Type.Boolean())),
});
export const responsesToolChoiceSchema = Type.Union([
  stringEnum(["auto", "none", "required"]),
  Type.Object({ type: Type.Literal("function"), name: Type.String() }),
]);

/** POST /v1/responses. Input items are checked in the route, so each refusal names the item and what to send. */
export const responsesBodySchema = Type.Object({
  model: Type.Optional(modelRefSchema),
  input: Type.Union([Type.String(), Type.Array(Type.Unknown(), { minItems: 1, maxItems: 10000 })]),
  instructions: Type.Optional(nullable(Type.String())),
  tools: Type.Optional(nullable(Type.Array(Type.Unknown(), { maxItems: 128 }))),
  tool_choice: Type.Optional(nullable(Type.Unknown())),
  parallel_tool_calls: Type.Optional(nullable(Type.Boolean())),
  text: Type.Optional(
    nullable(
      Type.Object({
        format: Type.Optional(
          nullable(
            Type.Object({
              type: stringEnum(["text", "json_object", "json_schema"]),
              name: Type.Optional(Type.String()),
              schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
              strict: Type.Optional(nullable(Type.Boolean())),
              description: Type.Optional(Type.String()),
            }),
          ),
        ),
        verbosity: Type.Optional(nullable(Type.String())),
      }),
    ),
  ),
  max_output_tokens: Type.Optional(tokenCount),
  temperature: sampling.temperature,
  top_p: sampling.top_p,
  top_k: sampling.top_k,
  seed: sampling.seed,
  stream: sampling.stream,
  previous_response_id: Type.Optional(nullable(Type.String())),
  conversation: Type.Optional(nullable(Type.Unknown())),
  /** The response says `store: false`. */
  store: storeSchema,
  /** Refused when true, as is a stored `prompt` template: both need stored state. */
  background: Type.Optional(nullable(Type.Boolean())),
  prompt: Type.Optional(nullable(Type.Unknown())),
  metadata: metadataSchema,
  /** "auto" truncates a conversation that does not fit, "disabled" refuses it; unset, CONTEXT_OVERFLOW decides. */
  truncation: Type.Optional(nullable(stringEnum(["auto", "disabled"]))),
  user: Type.Optional(Type.String()),
  role: Type.Optional(roleIdSchema),
  keep_alive: Type.Optional(keepAliveSchema),
});
