// Assembles a prompt that quotes retrieved chunks as numbered sources within a token budget.
import { ReflexiaError } from "../../errors/index.ts";
import { createApproxTokenizer, type Tokenizer } from "../chunking/tokenizer.ts";

/** What a retrieval result must carry to be cited. */
export interface CitableResult {
  documentId: string;
  title: string;
  source: string;
  chunkIndex: number;
  score: number;
  text: string;
  start: number;
  end: number;
}

/** A source as cited in the prompt: `n` is its [n] marker; `text` is exactly what was quoted. */
export interface RagSource extends CitableResult {
  n: number;
  /** True when only a prefix of the chunk fitted the budget (then `end` marks where the quote stops). */
  truncated: boolean;
}

export interface BuildRagPromptOptions {
  /** Token budget of the whole prompt (instructions, sources and question). Defaults to 3072. */
  maxContextTokens?: number;
  /** Defaults to the approximate word-piece tokenizer; pass the model's for an exact budget. */
  tokenizer?: Tokenizer;
  /** Replaces the default instruction paragraph. */
  instructions?: string;
}

export interface RagPrompt {
  /** The full prompt: instructions, sources, question. */
  prompt: string;
  /** Instructions plus sources, for use as a chat system message (the question then goes in the user turn). */
  context: string;
  sources: RagSource[];
  /** Token count of `prompt` by the tokenizer used. */
  tokens: number;
}

export const DEFAULT_RAG_INSTRUCTIONS =
  "Answer the question using only the sources below. Cite the sources you use as [1], [2], and so on. " +
  "If the sources do not contain the answer, say that you do not know.";

/** Smallest quote worth including when a source must be cut to fit. */
const MIN_QUOTE_TOKENS = 24;

function header(n: number, r: CitableResult): string {
  return r.source && r.source !== r.title ? `[${n}] ${r.title} (${r.source})` : `[${n}] ${r.title}`;
}

/** Longest prefix of `text` ending at a word boundary whose token count fits `budget`. */
function prefixWithin(text: string, budget: number, tokenizer: Tokenizer): string {
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tokenizer.count(text.slice(0, mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  const cut = text.slice(0, lo);
  const space = cut.search(/\s\S*$/);
  return (lo < text.length && space > 0 ? cut.slice(0, space) : cut).trimEnd();
}

/**
 * Adds results in rank order while they fit `maxContextTokens`; the first that does not fit is quoted as a
 * word-boundary prefix when at least a few dozen tokens remain, and later ones are dropped.
 */
export function buildRagPrompt(
  question: string,
  results: CitableResult[],
  options: BuildRagPromptOptions = {},
): RagPrompt {
  const tokenizer = options.tokenizer ?? createApproxTokenizer();
  const budget = options.maxContextTokens ?? 3072;
  const instructions = options.instructions ?? DEFAULT_RAG_INSTRUCTIONS;
  const tail = `\n\nQuestion: ${question.trim()}\nAnswer:`;
  const assemble = (blocks: string[]) => `${instructions}\n\nSources:\n\n${blocks.join("\n\n")}`;
  let used = tokenizer.count(assemble([]) + tail);
  if (used > budget) {
    throw new ReflexiaError(
      "RFX_CONTEXT_OVERFLOW",
      `the question and instructions take ${used} tokens; the context budget is ${budget}`,
      { tokens: used, budget },
    );
  }
  const blocks: string[] = [];
  const sources: RagSource[] = [];
  for (const r of results) {
    const n = sources.length + 1;
    const head = header(n, r);
    const cost = tokenizer.count(`${head}\n${r.text}\n\n`);
    if (used + cost <= budget) {
      blocks.push(`${head}\n${r.text}`);
      sources.push({ ...r, n, truncated: false });
      used += cost;
      continue;
    }
    const room = budget - used - tokenizer.count(`${head}\n\n\n`);
    if (room >= MIN_QUOTE_TOKENS) {
      const quote = prefixWithin(r.text, room, tokenizer);
      if (quote !== "") {
        blocks.push(`${head}\n${quote}`);
        sources.push({ ...r, n, text: quote, end: r.start + quote.length, truncated: true });
      }
    }
    break;
  }
  const context = assemble(blocks);
  const prompt = context + tail;
  return { prompt, context, sources, tokens: tokenizer.count(prompt) };
}
