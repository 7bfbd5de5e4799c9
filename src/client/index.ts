// The typed HTTP client of a Reflexia server.
export {
  createReflexiaClient,
  type ClientOptions,
  type ReflexiaClient,
  type GenerateRequestBody,
  type ChatRequestBody,
  type GenerateFinal,
  type GenerateOptionsBody,
  type ReflexiaMetaBody,
  type StreamEvents,
} from "./create-client.ts";
export type * from "./api-types.ts";
