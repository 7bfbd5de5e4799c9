// The layer order of src/, lowest first: a module may import from its own layer and from layers before it, never
// from one after it. test/import-direction.test.ts enforces it; the README's architecture block describes it.
export const LAYERS = [
  "errors", // error classes and the one code table
  "config", // the only reader of env and config files; keys, defaults, allowed values
  "gguf", // GGUF reader, synthetic writer, size and memory estimates
  "engine", // the only importer of llama.cpp bindings: Engine interface, native/ and node-llama-cpp/ rooms
  "upstream", // remote variants: OpenAI-compatible endpoint pools, routing, health, streamed requests
  "registry", // model catalog on disk and the ways a model comes in
  "policy", // pure decisions: complexity, variant choice
  "memory", // process, system and cgroup memory
  "scheduler", // loaded variants, sequences, queue
  "cache", // response cache
  "rag", // extraction, chunking, embeddings, vector stores, retrieval
  "metrics", // prom-client registry and metric families
  "services", // use-cases; services/rag/ is the RAG room's service side
  "http", // buildApp(deps): routes, schemas, hooks (never listens)
  "client", // typed HTTP client
  "wiring", // create-app-deps.ts: the one wiring of the server (and this file)
  "bench", // benchmarks: start a server through the wiring, talk HTTP through client
  "server", // main.ts: listens, warms up, drains; composes the server's background benchmarks
  "library", // index.ts and library/: the package's public API (createReflexia) over the wiring and the server
  "cli", // one file per command
] as const;

export type Layer = (typeof LAYERS)[number];

/** Files directly in src/ belong to the layer named here; a directory of src/ is its own layer. */
export const ROOT_FILE_LAYERS: Readonly<Record<string, Layer>> = {
  "create-app-deps.ts": "wiring",
  "layers.ts": "wiring",
  "main.ts": "server",
  "index.ts": "library",
};
