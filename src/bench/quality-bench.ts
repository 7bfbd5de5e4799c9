// Quality benchmark: what each quantization costs in accuracy, measured against the model's most precise variant on
// one text: perplexity, KL divergence of the next-token distributions (mean, median, p99, max), top-1 agreement and
// how often the greedy continuation of a prompt stays the same for N tokens. The figures are llama-perplexity
// `--kl-divergence`'s, computed the same way (chunks of n_ctx tokens, BOS first, the second half of each chunk
// scored), by this project's engine, so any stored model can be measured.
import { readFileSync } from "node:fs";
import type { Engine, LogitsEvaluator } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import { compareByPrecision, type ModelStore } from "../registry/index.ts";
import { percentile } from "./bench-stats.ts";

/** The shipped default text (prose written for this project; any text works with `--text FILE`). */
export const DEFAULT_QUALITY_TEXT_PATH = new URL("./quality-text.txt", import.meta.url);

export interface QualityBenchmarkOptions {
  store: ModelStore;
  /** An engine with loadEvaluator (the native engine). */
  engine: Engine;
  /** `name:tag` variants of one model; the most precise is the reference. */
  refs: string[];
  /** The text evaluated. Defaults to the shipped text (DEFAULT_QUALITY_TEXT_PATH). */
  text?: string;
  /** Tokens per evaluated chunk (llama-perplexity's -c). Defaults to 256. */
  chunkSize?: number;
  /** Chunks evaluated at most (llama-perplexity's --chunks). Defaults to 8. */
  maxChunks?: number;
  /** Prompts whose greedy continuations are compared. Defaults to 8. */
  continuationPrompts?: number;
  /** Tokens of each greedy continuation. Defaults to 16. */
  continuationTokens?: number;
  /** Decode threads; undefined uses the engine's default. */
  threads?: number;
  /** Receives each printed line. Defaults to console.log. */
  log?: (line: string) => void;
}

export interface QualityVariantResult {
  ref: string;
  quantization: string;
  /** `sha256:<hex>` of the variant measured (stored figures go stale when the bytes change). */
  digest: string;
  fileSizeBytes: number;
  /** True for the reference itself (evaluated again: its KL is 0 when evaluation is deterministic). */
  isBase: boolean;
  /** exp(mean negative log-likelihood of the scored tokens). */
  perplexity: number;
  /** ln(perplexity / the reference's perplexity). */
  lnPerplexityRatio: number;
  /** KL(reference ‖ variant) of the next-token distributions, nats, over the scored positions. */
  kl: { mean: number; median: number; p99: number; max: number };
  /** Share of scored positions where the most likely next token is the reference's. */
  top1Agreement: number;
  /** Share of prompts whose greedy continuation equals the reference's for all continuationTokens tokens. */
  sameContinuationRate: number;
  /** Mean number of leading continuation tokens equal to the reference's. */
  meanMatchingTokens: number;
}

export interface QualityBenchmarkResult {
  engine: string;
  model: string;
  base: { ref: string; quantization: string; digest: string };
  text: { source: string; chars: number; tokens: number };
  chunkSize: number;
  chunks: number;
  /** Next-token predictions scored per variant (chunks × (chunkSize − 1 − chunkSize/2)). */
  scoredTokens: number;
  continuation: { prompts: number; tokens: number; promptTokens: number };
  variants: QualityVariantResult[];
}

/** Log-softmax of row `r` of `logits` (n × vocab) into `out`; returns the index of the largest logit. */
function logSoftmaxRow(logits: Float32Array, r: number, vocab: number, out: Float32Array): number {
  const off = r * vocab;
  let max = -Infinity;
  let arg = 0;
  for (let i = 0; i < vocab; i++) {
    const x = logits[off + i];
    if (x > max) {
      max = x;
      arg = i;
    }
  }
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[off + i] - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < vocab; i++) out[i] = logits[off + i] - lse;
  return arg;
}

function argmaxRow(logits: Float32Array, r: number, vocab: number): number {
  const off = r * vocab;
  let arg = 0;
  for (let i = 1; i < vocab; i++) if (logits[off + i] > logits[off + arg]) arg = i;
  return arg;
}

/** The token sequences one run evaluates, fixed by the reference's tokenizer (all variants share the vocabulary). */
interface Plan {
  chunks: number[][];
  first: number;
  prompts: number[][];
}

function planOf(ev: LogitsEvaluator, text: string, chunkSize: number, maxChunks: number, nPrompts: number): Plan {
  const tokens = ev.tokenize(text, true);
  const plain = ev.tokenize(text, false);
  const bos = tokens.length > plain.length ? tokens[0] : undefined;
  const n = Math.min(maxChunks, Math.floor(tokens.length / chunkSize));
  if (n < 1)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `the text has ${tokens.length} tokens; the quality benchmark needs at least one chunk of ${chunkSize}`,
    );
  const chunks: number[][] = [];
  for (let i = 0; i < n; i++) {
    const c = tokens.slice(i * chunkSize, (i + 1) * chunkSize);
    // llama-perplexity puts BOS at the start of every chunk: each chunk is scored as a document of its own.
    if (bos !== undefined) c[0] = bos;
    chunks.push(c);
  }
  const promptLen = Math.max(4, Math.min(32, chunkSize >> 2));
  const prompts: number[][] = [];
  const span = plain.length - promptLen;
  for (let k = 0; k < nPrompts && span > 0; k++) {
    const at = Math.floor((k * span) / nPrompts);
    prompts.push([...(bos !== undefined ? [bos] : []), ...plain.slice(at, at + promptLen)]);
  }
  return { chunks, first: chunkSize >> 1, prompts };
}

/** The reference's figures every variant is compared with: log-probabilities of the scored rows, greedy continuations. */
interface Reference {
  logProbs: Float32Array[];
  argmax: number[];
  continuations: number[][];
}

async function evaluateVariant(
  ev: LogitsEvaluator,
  plan: Plan,
  ref: Reference | undefined,
  nContinuation: number,
): Promise<{ nll: number; kls: number[]; top1: number; same: number; matching: number; reference?: Reference }> {
  const vocab = ev.info.vocabSize;
  const row = new Float32Array(vocab);
  let nll = 0;
  let count = 0;
  let top1 = 0;
  const kls: number[] = [];
  const build: Reference | undefined = ref ? undefined : { logProbs: [], argmax: [], continuations: [] };
  let k = 0;
  for (const chunk of plan.chunks) {
    const logits = await ev.evaluate(chunk);
    for (let j = plan.first; j < chunk.length - 1; j++, k++) {
      const arg = logSoftmaxRow(logits, j, vocab, row);
      nll -= row[chunk[j + 1]];
      count++;
      if (build) {
        build.logProbs.push(Float32Array.from(row));
        build.argmax.push(arg);
        continue;
      }
      const base = ref!.logProbs[k];
      let kl = 0;
      for (let i = 0; i < vocab; i++) {
        const lp = base[i];
        kl += Math.exp(lp) * (lp - row[i]);
      }
      // Rounding can leave a hair below zero where the distributions are equal.
      kls.push(Math.max(0, kl));
      if (arg === ref!.argmax[k]) top1++;
    }
  }
  let same = 0;
  let matching = 0;
  for (let p = 0; p < plan.prompts.length; p++) {
    const prompt = plan.prompts[p];
    if (build) {
      // The reference's own greedy continuation, one token at a time.
      const seq = [...prompt];
      for (let t = 0; t < nContinuation && seq.length < ev.contextSize; t++) {
        const logits = await ev.evaluate(seq);
        seq.push(argmaxRow(logits, seq.length - 1, vocab));
      }
      build.continuations.push(seq.slice(prompt.length));
      continue;
    }
    // A variant's greedy continuation equals the reference's exactly when its most likely token at each step of
    // the reference's continuation is the reference's token: one evaluation of prompt + continuation tells.
    const cont = ref!.continuations[p];
    const logits = await ev.evaluate([...prompt, ...cont]);
    let m = 0;
    while (m < cont.length && argmaxRow(logits, prompt.length - 1 + m, vocab) === cont[m]) m++;
    matching += m;
    if (m === cont.length) same++;
  }
  return { nll: nll / count, kls, top1, same, matching, reference: build };
}

export async function runQualityBenchmark(options: QualityBenchmarkOptions): Promise<QualityBenchmarkResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const chunkSize = options.chunkSize ?? 256;
  const maxChunks = options.maxChunks ?? 8;
  const nPrompts = options.continuationPrompts ?? 8;
  const nCont = options.continuationTokens ?? 16;
  for (const [k, v, min] of [
    ["chunkSize", chunkSize, 8],
    ["maxChunks", maxChunks, 1],
    ["continuationPrompts", nPrompts, 0],
    ["continuationTokens", nCont, 1],
  ] as const)
    if (!Number.isInteger(v) || v < min) throw new ReflexiaError("RFX_VALIDATION", `${k} must be an integer >= ${min}`);
  if (options.refs.length === 0) throw new ReflexiaError("RFX_VALIDATION", "name at least one model variant");
  const loadEvaluator = options.engine.loadEvaluator?.bind(options.engine);
  if (!loadEvaluator)
    throw new ReflexiaError(
      "RFX_ENGINE",
      `the quality benchmark reads logits at every position, which the ${options.engine.name} engine does not give; use the native engine (ENGINE=native)`,
    );
  const resolved = (await Promise.all(options.refs.map((r) => options.store.resolve(r)))).sort((a, b) =>
    compareByPrecision(a.quantization, b.quantization),
  );
  const names = new Set(resolved.map((r) => r.name));
  if (names.size > 1)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `the quality benchmark compares variants of one model (got ${[...names].join(", ")})`,
    );
  const base = resolved[resolved.length - 1];
  const baseRef = `${base.name}:${base.tag}`;
  const text = options.text ?? readFileSync(DEFAULT_QUALITY_TEXT_PATH, "utf8");
  const source = options.text === undefined ? "src/bench/quality-text.txt" : "user text";
  const load = (path: string) => loadEvaluator({ path, contextSize: chunkSize, threads: options.threads });

  log(`quality benchmark on ${options.engine.name}: ${resolved.map((r) => r.tag).join(", ")} against ${baseRef}`);
  const baseEv = await load(base.path);
  let plan: Plan;
  let reference: Reference;
  let baseNll: number;
  try {
    if (baseEv.contextSize < chunkSize)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `chunk size ${chunkSize} exceeds the model's training context ${baseEv.contextSize}`,
      );
    plan = planOf(baseEv, text, chunkSize, maxChunks, nPrompts);
    const r = await evaluateVariant(baseEv, plan, undefined, nCont);
    reference = r.reference!;
    baseNll = r.nll;
  } finally {
    await baseEv.dispose();
  }
  const scored = reference.argmax.length;
  const result: QualityBenchmarkResult = {
    engine: options.engine.name,
    model: base.name,
    base: { ref: baseRef, quantization: base.quantization, digest: base.manifest.digest },
    text: { source, chars: text.length, tokens: plan.chunks.length * chunkSize },
    chunkSize,
    chunks: plan.chunks.length,
    scoredTokens: scored,
    continuation: { prompts: plan.prompts.length, tokens: nCont, promptTokens: plan.prompts[0]?.length ?? 0 },
    variants: [],
  };
  log(
    `${plan.chunks.length} chunks of ${chunkSize} tokens, ${scored} scored predictions; ${plan.prompts.length} greedy continuations of ${nCont} tokens`,
  );
  for (const v of resolved) {
    const ev = await load(v.path);
    try {
      const r = await evaluateVariant(ev, plan, reference, nCont);
      const sorted = [...r.kls].sort((a, b) => a - b);
      const ppl = Math.exp(r.nll);
      result.variants.push({
        ref: `${v.name}:${v.tag}`,
        quantization: v.quantization,
        digest: v.manifest.digest,
        fileSizeBytes: v.sizeBytes,
        isBase: v === base,
        perplexity: ppl,
        lnPerplexityRatio: r.nll - baseNll,
        kl: {
          mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
          median: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          max: sorted.at(-1)!,
        },
        top1Agreement: r.top1 / scored,
        sameContinuationRate: plan.prompts.length > 0 ? r.same / plan.prompts.length : Number.NaN,
        meanMatchingTokens: plan.prompts.length > 0 ? r.matching / plan.prompts.length : Number.NaN,
      });
    } finally {
      await ev.dispose();
    }
  }
  for (const l of qualityTable(result)) log(l);
  return result;
}

/** The result as a Markdown table (README and the CLI print the same one). */
export function qualityTable(r: QualityBenchmarkResult): string[] {
  const f = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : "–");
  return [
    `| variant | size MB | perplexity | ln(PPL/PPL ${r.base.quantization}) | mean KL | p99 KL | top-1 agreement | same ${r.continuation.tokens}-token greedy continuation |`,
    "|---|---|---|---|---|---|---|---|",
    ...r.variants.map(
      (v) =>
        `| ${v.quantization}${v.isBase ? " (reference)" : ""} | ${f(v.fileSizeBytes / 1e6, 1)} | ${f(v.perplexity, 3)} | ${f(v.lnPerplexityRatio, 5)} | ${f(v.kl.mean, 6)} | ${f(v.kl.p99, 6)} | ${f(v.top1Agreement, 4)} | ${f(v.sameContinuationRate, 3)} (${f(v.meanMatchingTokens, 1)} tok) |`,
    ),
  ];
}
