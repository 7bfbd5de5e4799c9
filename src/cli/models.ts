// `reflexia models …`: list, show, add, add-remote, rm, cp, synth, quantize, pull and import-ollama over the model store;
// list, show, rm, cp and quantize go through the running server's HTTP API when one answers (one view of the store,
// and a removed model is unloaded first), the others write the store directly (see EMBEDDED_NOTE).
import { Command } from "commander";
import type { ModelDetailsBody, ModelsBody, QuantizeProgressLine } from "../client/api-types.ts";
import { modelDetailsBody, modelsBody } from "../http/routes/models.ts";
import type { ReflexiaClient } from "../client/index.ts";
import cliProgress from "cli-progress";
import { QUANTIZATIONS, type Config, type Quantization } from "../config/index.ts";
import { ReflexiaError, toReflexiaError } from "../errors/index.ts";
import {
  formatModelRef,
  modelExists,
  parseModelRef,
  remoteSpecFromFields,
  UNQUANTIZED_FILE_TYPES,
  type ModelListing,
  type ModelManifest,
  type ModelRef,
  type ModelStore,
  type QuantizeResult,
  type SynthProgress,
} from "../registry/index.ts";
import { formatBytes, printJson, reportError, table } from "./output.ts";
import { parseIntOption, parseQuantizationList } from "./parse-options.ts";

import { modelNotFound } from "../registry/model-catalog.ts";
import { lookupRef } from "../registry/parse-model-ref.ts";
import type { VariantQuality } from "../registry/variant-quality.ts";
import type { SchedulerStatus } from "../scheduler/index.ts";
import { createModelOverview } from "../services/model-overview.ts";
import type { ModelService } from "../services/model-service.ts";

export interface ModelsCommandContext {
  config: Readonly<Config>;
  store: ModelStore;
  /** The running server's client, or null (--local, or none answers); says which on stderr. */
  server(): Promise<ReflexiaClient | null>;
}

/**
 * Why add, synth, pull (by URL) and import-ollama have no HTTP route: they read files or directories on this
 * machine (or write a multi-GB synthetic model with this machine's CPU), so they run here, under the store lock
 * that keeps two processes writing one home consistent; a running server reads the store per request and sees
 * the new variants at once.
 */
const EMBEDDED_NOTE =
  "Runs on this machine's store even when a server answers (no HTTP route: it reads local files or uses this machine's CPU); a running server sees the result at once.";

/** A variant of GET /api/models as the store's manifest (what `models list`/`rm` print in either mode). */
function manifestOfVariant(v: ModelsBody["models"][number]["variants"][number]): ModelManifest {
  return {
    name: v.name.slice(0, v.name.length - v.tag.length - 1),
    tag: v.tag,
    quantization: v.quantization,
    digest: v.digest,
    sizeBytes: v.size_bytes,
    format: v.kind === "remote" ? "remote" : "gguf",
    kind: v.kind,
    architecture: v.architecture,
    parameterCount: v.parameter_count,
    contextLength: v.context_length,
    fileType: v.quantization,
    source: v.source,
    createdAt: v.created_at,
  };
}

/** The store's listing, from the server (GET /api/models) or the store itself. */
async function listModels(server: ReflexiaClient | null, store: ModelStore): Promise<ModelListing[]> {
  if (!server) return store.list();
  const body = await server.call<ModelsBody>("GET", "/api/models");
  return body.models.map((m) => ({
    name: m.name,
    totalBytes: m.total_bytes,
    variants: m.variants.map(manifestOfVariant),
  }));
}

/**
 * The variant a tagged reference names among `variants` (the listing of its name), as the server's copy and create
 * resolve it: the stored tag lookupRef picks (a quantization name in any case, so `t:Q8_0` is `t:q8_0`), else, for
 * `name:latest` with no variant tagged latest (lookupRef's untagged name: the default variant), the variant the
 * server's GET /api/models/REF reports. Undefined when none matches (the server's copy or create then says so).
 */
async function variantThroughServer(
  client: ReflexiaClient,
  ref: string,
  parsed: ModelRef,
  variants: ModelManifest[],
): Promise<ModelManifest | undefined> {
  const found = lookupRef(
    parsed,
    variants.map((v) => v.tag),
  );
  if (found.tag !== undefined) return variants.find((v) => v.tag === found.tag);
  if (variants.length === 0) return undefined;
  const shown = await client.call<ModelDetailsBody>("GET", `/api/models/${encodeURIComponent(ref)}`);
  return variants.find((v) => `${v.name}:${v.tag}` === shown.name);
}

/** Nothing is loaded in a CLI process that lists the store: the scheduler status an idle server reports. */
const NOTHING_LOADED: SchedulerStatus = {
  draining: false,
  parallel: 0,
  queueSize: 0,
  maxLoadedVariants: 0,
  contextSize: 0,
  running: 0,
  queued: 0,
  peakRunning: 0,
  peakQueued: 0,
  loading: [],
  variants: [],
  estimatedLoadedBytes: 0,
  estimatedLoadedVramBytes: 0,
};

/**
 * GET /api/models's body, from the server or built here from the store by the route's own mapping (`models list
 * --json` prints it either way, so a script reads one shape whether a server answers or not).
 */
async function modelsListBody(server: ReflexiaClient | null, store: ModelStore): Promise<ModelsBody> {
  if (server) return server.call<ModelsBody>("GET", "/api/models");
  // The overview reads only list() and show() of the model service; the rest (pull, create, remove) is the server's.
  const models: Pick<ModelService, "list" | "show"> = {
    list: () => store.list(),
    show: (ref, options) => store.show(ref, options),
  };
  const overview = createModelOverview({ models: models as ModelService, scheduler: { status: () => NOTHING_LOADED } });
  return modelsBody(await overview.list());
}

/** What `models show` prints, from either source. */
interface ShowView {
  ref: string;
  architecture: string;
  parameterCount: number;
  contextLength: number;
  quantization: string;
  sizeBytes: number;
  contextSize: number;
  memory: { weightsBytes: number; repackBytes: number; kvCacheBytes: number; computeBytes: number; totalBytes: number };
  blockCount: unknown;
  embeddingLength: unknown;
  headCount: unknown;
  headCountKv: unknown;
  vocabSize: unknown;
  digest: string;
  source: { kind: string; from: string };
  createdAt: string;
  /** Null through a server: the file is on its machine. */
  path: string | null;
  variants: string[];
}

function showViewOfBody(b: ModelDetailsBody): ShowView {
  const m = b.estimated_memory;
  return {
    ref: b.name,
    architecture: b.architecture,
    parameterCount: b.parameter_count,
    contextLength: b.context.trained,
    quantization: b.quantization,
    sizeBytes: b.size_bytes,
    contextSize: b.context.configured,
    memory: {
      weightsBytes: m.weights_bytes,
      repackBytes: m.repack_bytes,
      kvCacheBytes: m.kv_cache_bytes,
      computeBytes: m.compute_bytes,
      totalBytes: m.total_bytes,
    },
    blockCount: b.parameters.block_count,
    embeddingLength: b.parameters.embedding_length,
    headCount: b.parameters.head_count,
    headCountKv: b.parameters.head_count_kv,
    vocabSize: b.parameters.vocab_size,
    digest: b.digest,
    source: b.source,
    createdAt: b.created_at,
    path: null,
    variants: b.variants,
  };
}

interface JsonFlag {
  json?: boolean;
}

/** A progress bar on stderr, shown only to a person at a terminal: never with --json, never into a pipe. */
interface Progress {
  /** `detail` is shown after the percentage (bytes so far, step k/n); `total` may change between calls. */
  update(value: number, total: number, label: string, detail?: string): void;
  stop(): void;
}

function createProgress(json: boolean | undefined): Progress {
  if (json || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      format: "{label} [{bar}] {percentage}% {detail}",
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(value, total, label, detail = "") {
      const payload = { label, detail };
      if (!started) {
        bar.start(total, value, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Progress callback for synth/quantize: bytes while writing f16, then tensors of each quantization. */
function synthProgress(progress: Progress) {
  return (p: SynthProgress) => {
    if (p.phase === "write")
      progress.update(p.done, p.total, "writing f16", `${formatBytes(p.done)}/${formatBytes(p.total)}`);
    else if (p.phase === "quantize")
      progress.update(
        p.done,
        p.total,
        "quantizing",
        `${p.quantization} (${Math.min(Math.floor(p.done) + 1, p.total)}/${p.total})`,
      );
  };
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

interface RemoteCliOptions {
  url: string[];
  upstreamModel?: string;
  quantization?: string;
  apiKeyFile?: string;
  apiKeyEnv?: string;
  timeout?: number;
  requestTimeout?: number;
  maxConcurrent?: number;
  extraBody?: Record<string, unknown>;
  force?: boolean;
}

function parseJsonObject(text: string, flag: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ReflexiaError("RFX_VALIDATION", `${flag}: not JSON`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v))
    throw new ReflexiaError("RFX_VALIDATION", `${flag}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/** commander's accumulator for a repeatable option. */
const collect = (value: string, previous: string[]): string[] => [...previous, value];

function variantLine(verb: string, m: ModelManifest): string {
  return `${verb} ${m.name}:${m.tag}  (${m.quantization}, ${formatBytes(m.sizeBytes)}, ${m.digest.slice(0, 19)}…)\n`;
}

/**
 * The value a remote variant uses for one setting: its own when it sets one, else the config's default (which the
 * upstream backend falls back to), saying which.
 */
function effective(
  own: number | null,
  config: Readonly<Config>,
  key: "timeout_seconds" | "request_timeout_seconds" | "max_concurrent",
  unit: string,
): string {
  return own !== null ? `${own} ${unit} (set on the variant)` : `${config.remote[key]} ${unit} (config remote.${key})`;
}

function printRemoteDetails(
  d: ModelDetailsBody,
  r: NonNullable<ModelDetailsBody["remote"]>,
  config: Readonly<Config>,
): void {
  const rows: [string, string][] = [
    ["Model", d.name],
    ["Kind", "remote (served through `reflexia serve`, which forwards to the endpoints)"],
    ["Quantization", d.quantization],
    ["Upstream model", r.upstream_model],
    ["Endpoints", r.endpoints.join(", ")],
    ["API key", r.api_key === "none" ? "none" : `from ${r.api_key === "file" ? "a file" : "an environment variable"}`],
    ["First-byte timeout", effective(r.timeout_seconds, config, "timeout_seconds", "s")],
    ["Request timeout", effective(r.request_timeout_seconds, config, "request_timeout_seconds", "s")],
    ["Per endpoint", effective(r.max_concurrent, config, "max_concurrent", "concurrent requests at most")],
    ["Memory here", "none (no weights are loaded on this machine)"],
    ["Digest", d.digest],
    ["Source", `${d.source.kind}: ${d.source.from}`],
    ["Variants", d.variants.join(", ")],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n");
}

function printDetails(d: ShowView, q?: VariantQuality): void {
  const rows: [string, string][] = [
    ["Model", d.ref],
    ["Architecture", d.architecture],
    ["Parameters", `${formatCount(d.parameterCount)} (${d.parameterCount.toLocaleString("en-US")})`],
    ["Context length", String(d.contextLength)],
    ["Quantization", d.quantization],
    ["File size", `${formatBytes(d.sizeBytes)} (${d.sizeBytes.toLocaleString("en-US")} bytes)`],
    [
      "Est. memory",
      `${formatBytes(d.memory.totalBytes)} at a ${d.contextSize}-token context (file ${formatBytes(d.memory.weightsBytes)} + repacked ${formatBytes(d.memory.repackBytes)} + KV ${formatBytes(d.memory.kvCacheBytes)} + compute ${formatBytes(d.memory.computeBytes)})`,
    ],
    ["Layers", String(d.blockCount)],
    ["Embedding", String(d.embeddingLength)],
    ["Heads (KV)", `${d.headCount} (${d.headCountKv})`],
    ["Vocabulary", String(d.vocabSize)],
    ["Digest", d.digest],
    ["Source", `${d.source.kind}: ${d.source.from}`],
    ["Added", d.createdAt],
    ["Path", d.path ?? "(on the server's machine)"],
    ["Variants", d.variants.join(", ")],
    [
      "Quality",
      q
        ? `vs ${q.reference}: top-1 agreement ${q.top1Agreement.toFixed(3)}, mean KL ${q.klMean.toFixed(5)}, p99 KL ${q.klP99.toFixed(5)}, perplexity ${q.perplexity.toFixed(3)}, same greedy continuation ${q.sameContinuationRate.toFixed(2)} (measured ${q.measuredAt})`
        : "not measured (`reflexia benchmark --test quality --model NAME`)",
    ],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n");
}

/**
 * `models quantize` through POST /api/models/quantize, one target at a time, with the store's result shape: a
 * target that exists or is more precise than the source is skipped with the server's reason.
 */
async function quantizeThroughServer(
  client: ReflexiaClient,
  store: ModelStore,
  ref: string,
  to: Quantization[],
  progress: Progress,
): Promise<QuantizeResult> {
  const parsed = parseModelRef(ref);
  const variantsOf = async () => (await listModels(client, store)).find((m) => m.name === parsed.name)?.variants ?? [];
  const before = await variantsOf();
  if (before.length === 0) await client.call("GET", `/api/models/${encodeURIComponent(ref)}`); // the server's 404
  // variants are ordered by precision, most precise last: the source the server quantizes from.
  const from = parsed.tag ? await variantThroughServer(client, ref, parsed, before) : before.at(-1);
  const created: ModelManifest[] = [];
  const skipped: QuantizeResult["skipped"] = [];
  for (const q of to) {
    try {
      let done: string | undefined;
      await client.progress("/api/models/quantize", { from: ref, quantize: q, stream: true }, (l) => {
        const line = l as QuantizeProgressLine;
        if ("model" in line) done = line.model;
        else if ("status" in line && line.total)
          progress.update(line.completed ?? 0, line.total, "quantizing", `${q} (${line.status})`);
      });
      const made = (await variantsOf()).find((v) => `${v.name}:${v.tag}` === done);
      if (made) created.push(made);
    } catch (e) {
      const err = toReflexiaError(e);
      if (err.code !== "RFX_MODEL_EXISTS" && err.code !== "RFX_VALIDATION") throw err;
      skipped.push({ tag: q, reason: err.message });
    }
  }
  return {
    from: from!,
    created,
    skipped,
    requantized: created.length > 0 && !!from && !UNQUANTIZED_FILE_TYPES.has(from.quantization),
  };
}

/** Registers `models` and its subcommands on `program`; every action prints one `error: … (CODE)` line on failure. */
export function registerModelsCommand(program: Command, getContext: () => Promise<ModelsCommandContext>): Command {
  const models = program
    .command("models")
    .description("Manage the local model store (GGUF variants by quantization)")
    .addHelpText(
      "after",
      "\nlist, show, rm, cp and quantize go through the running server when one answers (stderr says which ran;\n" +
        "--local forces this machine's store). add, synth, pull URL, import-ollama and fit always run here.",
    );

  // Wraps an action so any failure becomes one line on stderr and exit code 1, never a stack trace.
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await fn(...args);
      } catch (e) {
        // Plain errors (fs permissions, bugs) still get a code, so every failure reads the same.
        reportError(toReflexiaError(e));
      }
    };

  models
    .command("list")
    .alias("ls")
    .description("List models and their variants")
    .option("--json", "machine-readable output")
    .action(
      run(async (opts: JsonFlag) => {
        const { store, server } = await getContext();
        const body = await modelsListBody(await server(), store);
        if (opts.json) return printJson(body);
        if (body.models.length === 0) {
          process.stdout.write(
            "no models in the store; try: reflexia models synth --shape tiny --quant q4_0,f16 --name tiny\n",
          );
          return;
        }
        // A remote variant has no file, parameter count, architecture or trained context here: `-`, never zeros.
        const rows = body.models.flatMap((m) =>
          m.variants.map((v) => ({
            name: m.name,
            tag: v.tag,
            kind: v.kind,
            quant: v.quantization,
            size: v.kind === "remote" ? "-" : formatBytes(v.size_bytes),
            params: v.kind === "remote" ? "-" : formatCount(v.parameter_count),
            arch: v.kind === "remote" ? "-" : v.architecture,
            ctx: v.kind === "remote" ? "-" : v.context_length,
            source: v.source.kind,
            added: v.created_at.slice(0, 19).replace("T", " "),
          })),
        );
        process.stdout.write(table(rows) + "\n");
      }),
    );

  models
    .command("show")
    .argument("<name>", "model (name or name:tag)")
    .description("Show architecture, parameters, context length, quantization, file size and estimated memory")
    .option("--json", "machine-readable output")
    .action(
      run(async (name: string, opts: JsonFlag) => {
        const { store, config, server } = await getContext();
        const client = await server();
        // One object either way: the server's GET /api/models/NAME:TAG body, built here from the store embedded.
        let body: ModelDetailsBody;
        let path: string | null = null;
        if (client) body = await client.call<ModelDetailsBody>("GET", `/api/models/${encodeURIComponent(name)}`);
        else {
          const d = await store.show(name);
          body = modelDetailsBody({ details: d, chatTemplate: d.gguf.chatTemplate ?? null });
          path = d.remote ? null : d.path;
        }
        if (body.remote) return opts.json ? printJson(body) : printRemoteDetails(body, body.remote, config);
        // Measured quality lives beside the store; through a server on another machine there is none here to read.
        const { readVariantQuality } = await import("../registry/variant-quality.ts");
        const quality = await readVariantQuality(config.home, body.name, body.digest);
        if (opts.json) return printJson({ ...body, quality: quality ?? null });
        printDetails({ ...showViewOfBody(body), path }, quality);
      }),
    );

  models
    .command("add")
    .argument("<path>", "GGUF file")
    .requiredOption("--name <name>", "model name")
    .option("--tag <tag>", "variant tag (default: the file type read from the GGUF header)")
    .option("--force", "replace an existing variant with the same name and tag")
    .option("--json", "machine-readable output")
    .description("Validate a GGUF file and copy it into the store")
    .addHelpText("after", `\n${EMBEDDED_NOTE}`)
    .action(
      run(async (path: string, opts: JsonFlag & { name: string; tag?: string; force?: boolean }) => {
        const { store } = await getContext();
        const m = await store.add(path, { name: opts.name, tag: opts.tag, force: opts.force });
        if (opts.json) return printJson(m);
        process.stdout.write(variantLine("added", m));
      }),
    );

  models
    .command("add-remote")
    .argument("<ref>", "variant NAME:TAG (a quantization tag such as f16 lets adaptive choice weigh it)")
    .requiredOption("--url <url>", "OpenAI-compatible base URL of an endpoint (repeat for more)", collect, [])
    .option("--upstream-model <name>", "model name the upstream servers know (default: NAME)")
    .option("--quantization <q>", "quantization the upstream serves (default: the tag when it is one)")
    .option("--api-key-file <path>", "file whose first line is the upstream's API key")
    .option("--api-key-env <var>", "environment variable holding the upstream's API key")
    .option("--timeout <seconds>", "seconds to the first byte before an attempt times out", Number)
    .option("--request-timeout <seconds>", "seconds a whole request may take", Number)
    .option("--max-concurrent <n>", "requests in flight per endpoint", Number)
    .option(
      "--extra-body <json>",
      "JSON object of fields added to every upstream request (server options)",
      (v: string) => parseJsonObject(v, "--extra-body"),
    )
    .option("--force", "replace an existing variant with the same name and tag")
    .option("--json", "machine-readable output")
    .description("Declare a remote variant served by OpenAI-compatible servers (vLLM, llama-server, Ollama /v1, …)")
    .action(
      run(async (ref: string, opts: JsonFlag & RemoteCliOptions) => {
        const { store } = await getContext();
        const parsed = parseModelRef(ref);
        if (!parsed.tag) throw new ReflexiaError("RFX_VALIDATION", "add-remote needs NAME:TAG");
        const m = await store.addRemote({
          name: parsed.name,
          tag: parsed.tag,
          quantization: opts.quantization,
          force: opts.force,
          remote: remoteSpecFromFields({
            urls: opts.url,
            upstream_model: opts.upstreamModel ?? parsed.name,
            api_key_file: opts.apiKeyFile,
            api_key_env: opts.apiKeyEnv,
            timeout_seconds: opts.timeout,
            request_timeout_seconds: opts.requestTimeout,
            max_concurrent: opts.maxConcurrent,
            extra_body: opts.extraBody,
          }),
        });
        if (opts.json) return printJson(m);
        process.stdout.write(
          `added ${m.name}:${m.tag}  (remote, ${m.quantization}, ${m.remote!.endpoints.length} endpoint(s))\n`,
        );
      }),
    );

  models
    .command("rm")
    .alias("remove")
    .argument("<name>", "model (name removes every variant, name:tag one)")
    .option("--json", "machine-readable output")
    .description("Remove a model or one variant; blobs go once nothing references them")
    .action(
      run(async (name: string, opts: JsonFlag) => {
        const { store, server } = await getContext();
        const client = await server();
        let removed: ModelManifest[];
        if (client) {
          // The server unloads the variants before deleting them; its listing says which ones a name covers, and
          // each is deleted by its stored name:tag (/api/delete, like Ollama's, takes an untagged name as one
          // variant). As the store removes: a tag is looked up as stored (lookupRef: a quantization name in any
          // case), `name:latest` stays a real tag (lookupRef's untagged name matches no tag here), and an untagged
          // name covers the variants the store holds, not those the config declares.
          const ref = parseModelRef(name);
          const listed = (await listModels(client, store)).find((m) => m.name === ref.name)?.variants ?? [];
          const target = lookupRef(
            ref,
            listed.map((v) => v.tag),
          );
          removed = ref.tag
            ? listed.filter((v) => v.tag === target.tag)
            : listed.filter((v) => v.source.kind !== "config");
          // A tag that names nothing is refused here, as the store words it (the server would take `name:latest` as
          // its default variant and delete that); an untagged name gets the server's own refusal.
          if (removed.length === 0 && ref.tag) throw modelNotFound(formatModelRef(ref));
          if (removed.length === 0) await client.call("DELETE", "/api/delete", { model: name });
          for (const v of removed) await client.call("DELETE", "/api/delete", { model: `${ref.name}:${v.tag}` });
        } else removed = await store.remove(name);
        if (opts.json) return printJson({ removed });
        for (const m of removed) process.stdout.write(`removed ${m.name}:${m.tag}\n`);
      }),
    );

  models
    .command("cp")
    .alias("copy")
    .argument("<src>", "source model (name or name:tag)")
    .argument("<dst>", "destination (name or name:tag)")
    .option("--force", "replace existing destination variants")
    .option("--json", "machine-readable output")
    .description("Copy a model or variant under another name (blobs are shared, not duplicated)")
    .action(
      run(async (src: string, dst: string, opts: JsonFlag & { force?: boolean }) => {
        const { store, server } = await getContext();
        const client = await server();
        let created: ModelManifest[];
        if (client) {
          const listed = await listModels(client, store);
          // The tags the copy writes: the destination's own, else each source variant's (as the store copies).
          const from = parseModelRef(src);
          const to = parseModelRef(dst);
          const sources = listed.find((m) => m.name === from.name)?.variants ?? [];
          // A tagged source is the stored variant the server resolves it to (`t:Q8_0` copies `t:q8_0` to `x:q8_0`).
          const source = to.tag || !from.tag ? undefined : await variantThroughServer(client, src, from, sources);
          const tags = to.tag ? [to.tag] : from.tag ? [source?.tag ?? from.tag] : sources.map((v) => v.tag);
          // /api/copy replaces (as Ollama's); this command replaces only with --force.
          const taken = listed.find((m) => m.name === to.name)?.variants.find((v) => tags.includes(v.tag));
          if (taken && !opts.force) throw modelExists(`${to.name}:${taken.tag}`);
          await client.call("POST", "/api/copy", { source: src, destination: dst });
          created = ((await listModels(client, store)).find((m) => m.name === to.name)?.variants ?? []).filter((v) =>
            tags.includes(v.tag),
          );
        } else created = await store.copy(src, dst, { force: opts.force });
        if (opts.json) return printJson({ created });
        for (const m of created) process.stdout.write(variantLine("copied to", m));
      }),
    );

  models
    .command("synth")
    .description("Write a synthetic random-weights llama model and add one variant per quantization")
    .addHelpText("after", `\n${EMBEDDED_NOTE}`)
    .option("--shape <shape>", "tiny | small | 1b | 3b | 7b", "tiny")
    .option("--quant <list>", `comma-separated quantizations (${QUANTIZATIONS.join(", ")})`, QUANTIZATIONS.join(","))
    .option("--name <name>", "model name (required unless --dry-run)")
    .option("--seed <n>", "random seed (same seed, same weights)", parseIntOption("--seed", 0, 2 ** 31 - 1))
    .option("--fim", "give the vocabulary fill-in-the-middle tokens (for suffix requests)")
    .option("--dry-run", "only estimate each variant's size and memory")
    .option("--force", "replace existing variants")
    .option("--json", "machine-readable output")
    .action(
      run(
        async (
          opts: JsonFlag & {
            shape: string;
            quant: string;
            name?: string;
            seed?: number;
            fim?: boolean;
            dryRun?: boolean;
            force?: boolean;
          },
        ) => {
          const quant = parseQuantizationList("--quant", opts.quant);
          if (!opts.name && !opts.dryRun)
            throw new ReflexiaError("RFX_VALIDATION", "synth needs --name (or --dry-run)");
          const { store } = await getContext();
          const progress = createProgress(opts.json);
          let result;
          try {
            result = await store.synth({
              shape: opts.shape,
              quant,
              name: opts.name ?? `synthetic-${opts.shape}`,
              seed: opts.seed,
              fim: opts.fim,
              dryRun: opts.dryRun,
              force: opts.force,
              onProgress: synthProgress(progress),
            });
          } finally {
            progress.stop();
          }
          if (opts.json) return printJson(result);
          if (result.dryRun) {
            process.stdout.write(
              table(
                result.estimates.map((e) => ({
                  shape: result.shape,
                  quant: e.quantization,
                  size: formatBytes(e.estimatedBytes),
                  memory: formatBytes(e.estimatedMemoryBytes),
                  bytes: e.estimatedBytes,
                })),
              ) + "\n",
            );
            return;
          }
          for (const m of result.created) process.stdout.write(variantLine("created", m));
          process.stdout.write(
            "note: synthetic models have random weights; their output is gibberish (for benchmarks and wiring).\n",
          );
        },
      ),
    );

  models
    .command("quantize")
    .argument("<name>", "model (its most precise variant is the source) or name:tag (that variant is)")
    .requiredOption("--to <list>", `comma-separated target quantizations (${QUANTIZATIONS.join(", ")})`)
    .option("--json", "machine-readable output")
    .description("Create new variants with llama.cpp's quantizer")
    .action(
      run(async (name: string, opts: JsonFlag & { to: string }) => {
        const to = parseQuantizationList("--to", opts.to);
        const { store, server } = await getContext();
        const client = await server();
        const progress = createProgress(opts.json);
        let result;
        try {
          result = client
            ? await quantizeThroughServer(client, store, name, to, progress)
            : await store.quantize(name, to, { onProgress: synthProgress(progress) });
        } finally {
          progress.stop();
        }
        if (opts.json) return printJson(result);
        process.stdout.write(`source ${result.from.name}:${result.from.tag} (${result.from.quantization})\n`);
        if (result.requantized)
          process.stdout.write(
            "warning: the source is already quantized, so the new variants compound its loss; add an f16 variant for better ones\n",
          );
        for (const m of result.created) process.stdout.write(variantLine("created", m));
        for (const s of result.skipped) process.stdout.write(`skipped ${s.tag}: ${s.reason}\n`);
      }),
    );

  models
    .command("pull")
    .argument("<url>", "http(s) URL of a GGUF file")
    .requiredOption("--name <name>", "model name")
    .option("--tag <tag>", "variant tag (default: the file type read from the GGUF header)")
    .option("--sha256 <hex>", "expected sha256 of the file")
    .option("--force", "replace an existing variant")
    .option("--json", "machine-readable output")
    .description("Download a GGUF (resumes an interrupted download) and add it")
    .addHelpText("after", `\n${EMBEDDED_NOTE} (Registry names go through the server: \`reflexia pull NAME\`.)`)
    .action(
      run(async (url: string, opts: JsonFlag & { name: string; tag?: string; sha256?: string; force?: boolean }) => {
        const { store, config } = await getContext();
        const progress = createProgress(opts.json);
        // Ctrl-C aborts the transfer but keeps the partial file, so the same command resumes it.
        const controller = new AbortController();
        const onSigint = () => controller.abort();
        process.once("SIGINT", onSigint);
        let result;
        try {
          result = await store.pull(url, {
            name: opts.name,
            tag: opts.tag,
            sha256: opts.sha256,
            force: opts.force,
            signal: controller.signal,
            readTimeoutSeconds: config.registry.pull_read_timeout_seconds,
            minBytesPerSecond: config.registry.pull_min_bytes_per_second,
            onProgress: (p) =>
              progress.update(
                p.receivedBytes,
                p.totalBytes ?? p.receivedBytes,
                p.resumedFrom ? "resuming" : "downloading",
                `${formatBytes(p.receivedBytes)}/${p.totalBytes === undefined ? "?" : formatBytes(p.totalBytes)}`,
              ),
          });
        } finally {
          progress.stop();
          process.removeListener("SIGINT", onSigint);
        }
        if (opts.json) return printJson(result);
        if (result.resumedFrom) process.stdout.write(`resumed from ${formatBytes(result.resumedFrom)}\n`);
        process.stdout.write(variantLine("pulled", result.manifest));
      }),
    );

  models
    .command("import-ollama")
    .argument("[dir]", "Ollama models directory (default: ~/.ollama/models)")
    .option("--json", "machine-readable output")
    .description("Add the GGUF models of an Ollama installation (manifests → blobs)")
    .addHelpText("after", `\n${EMBEDDED_NOTE}`)
    .action(
      run(async (dir: string | undefined, opts: JsonFlag) => {
        const { store } = await getContext();
        const progress = createProgress(opts.json);
        let result;
        try {
          result = await store.importOllama(dir, {
            onProgress: (p) => progress.update(p.index, p.total, "importing", p.ollamaName),
          });
        } finally {
          progress.stop();
        }
        if (opts.json) return printJson(result);
        for (const m of result.imported) process.stdout.write(variantLine("imported", m));
        for (const s of result.skipped) process.stdout.write(`skipped ${s.ollamaName}: ${s.reason}\n`);
        for (const w of result.warnings) process.stdout.write(`warning ${w.ollamaName}: ${w.warning}\n`);
        if (result.imported.length === 0 && result.skipped.length === 0)
          process.stdout.write("no Ollama models found\n");
      }),
    );

  return models;
}
