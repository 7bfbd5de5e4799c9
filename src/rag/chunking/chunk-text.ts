// Splits text into token-bounded, overlapping chunks cut at paragraph, then sentence, then word boundaries.
import { CONFIG_DEFAULTS } from "../../config/index.ts";
import { ReflexiaError } from "../../errors/index.ts";
import { createApproxTokenizer, type Tokenizer } from "./tokenizer.ts";

export interface ChunkTextOptions {
  /** Most tokens per chunk. Defaults to config `rag.chunk_size`. */
  chunkSize?: number;
  /** Tokens repeated from the end of one chunk at the start of the next. Defaults to config `rag.chunk_overlap`. */
  chunkOverlap?: number;
  /** Defaults to the approximate word-piece tokenizer. */
  tokenizer?: Tokenizer;
}

/** A chunk as a span of the source text: `text === source.slice(start, end)`. */
export interface TextChunk {
  index: number;
  start: number;
  end: number;
  text: string;
  tokenCount: number;
}

interface Atom {
  start: number;
  end: number;
  tokens: number;
  /** Strength of the boundary after this atom: 0 inside a word, 1 space, 2 line, 3 sentence, 4 paragraph. */
  after: number;
}

const BOUNDARY = { none: 0, word: 1, line: 2, sentence: 3, paragraph: 4 } as const;
/** A chunk is cut at a weaker boundary only when a stronger one would leave it less than this full. */
const MIN_FILL = 0.5;
const SENTENCE_END = /[.!?。！？…]["'”’)\]]*$/u;

function boundaryAfter(text: string, atomEnd: number, nextStart: number, atomText: string): number {
  const gap = text.slice(atomEnd, nextStart);
  const newlines = gap.split("\n").length - 1;
  if (newlines >= 2) return BOUNDARY.paragraph;
  // A Markdown heading or list item on the next line starts a new block.
  if (newlines === 1 && /^(#{1,6} |[-*+] |\d+[.)] |```)/.test(text.slice(nextStart, nextStart + 8)))
    return BOUNDARY.paragraph;
  if (SENTENCE_END.test(atomText)) return BOUNDARY.sentence;
  if (newlines === 1) return BOUNDARY.line;
  return BOUNDARY.word;
}

/** Cuts an atom larger than `maxTokens` into pieces by characters, never between a surrogate pair. */
function splitAtom(text: string, atom: Atom, maxTokens: number, tokenizer: Tokenizer): Atom[] {
  const out: Atom[] = [];
  let pos = atom.start;
  while (pos < atom.end) {
    const remaining = atom.end - pos;
    let len = Math.max(
      1,
      Math.floor((remaining * maxTokens) / Math.max(1, tokenizer.count(text.slice(pos, atom.end)))),
    );
    len = Math.min(len, remaining);
    let tokens = tokenizer.count(text.slice(pos, pos + len));
    while (tokens > maxTokens && len > 1) {
      len = Math.max(1, Math.floor(len * 0.8));
      tokens = tokenizer.count(text.slice(pos, pos + len));
    }
    let end = pos + len;
    const code = text.charCodeAt(end - 1);
    if (end < atom.end && code >= 0xd800 && code <= 0xdbff) end++;
    out.push({ start: pos, end, tokens: tokenizer.count(text.slice(pos, end)), after: BOUNDARY.none });
    pos = end;
  }
  out[out.length - 1].after = atom.after;
  return out;
}

export function chunkText(text: string, options: ChunkTextOptions = {}): TextChunk[] {
  const chunkSize = options.chunkSize ?? CONFIG_DEFAULTS.rag.chunk_size;
  const overlap = options.chunkOverlap ?? CONFIG_DEFAULTS.rag.chunk_overlap;
  const tokenizer = options.tokenizer ?? createApproxTokenizer();
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new ReflexiaError("RFX_CONFIG_INVALID", `rag.chunk_size must be a positive integer, got ${chunkSize}`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= chunkSize) {
    throw new ReflexiaError(
      "RFX_CONFIG_INVALID",
      `rag.chunk_overlap must be an integer in [0, chunk_size), got ${overlap} with chunk_size ${chunkSize}`,
    );
  }

  const raw: Atom[] = [];
  for (const m of text.matchAll(/\S+/g))
    raw.push({
      start: m.index!,
      end: m.index! + m[0].length,
      tokens: tokenizer.count(m[0]),
      after: BOUNDARY.paragraph,
    });
  for (let i = 0; i + 1 < raw.length; i++)
    raw[i].after = boundaryAfter(text, raw[i].end, raw[i + 1].start, text.slice(raw[i].start, raw[i].end));
  // Oversized atoms (a long URL, base64) are cut so a chunk always has room for at least a few of them.
  const pieceLimit = Math.max(1, Math.floor(chunkSize / 2));
  const atoms: Atom[] = [];
  for (const a of raw) {
    if (a.tokens > pieceLimit) atoms.push(...splitAtom(text, a, pieceLimit, tokenizer));
    else atoms.push(a);
  }
  const n = atoms.length;
  if (n === 0) return [];
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + atoms[i].tokens;
  const sum = (from: number, to: number) => prefix[to + 1] - prefix[from];

  const chunks: TextChunk[] = [];
  let s = 0;
  while (s < n) {
    // Largest e with sum(s..e) <= chunkSize (at least one atom, which fits by construction).
    let lo = s;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (sum(s, mid) <= chunkSize) lo = mid;
      else hi = mid - 1;
    }
    const e = lo;
    let cut = e;
    if (e < n - 1) {
      const minTokens = chunkSize * MIN_FILL;
      let best = -1;
      let bestStrength: number = BOUNDARY.word;
      for (let i = e; i >= s && sum(s, i) >= minTokens; i--) {
        if (atoms[i].after > bestStrength) {
          best = i;
          bestStrength = atoms[i].after;
          if (bestStrength === BOUNDARY.paragraph) break;
        }
      }
      if (best >= 0) cut = best;
    }
    const start = atoms[s].start;
    const end = atoms[cut].end;
    chunks.push({ index: chunks.length, start, end, text: text.slice(start, end), tokenCount: sum(s, cut) });
    if (cut >= n - 1) break;
    // The next chunk starts up to `overlap` tokens before this one's end, at a word boundary, always moving on.
    let next = cut + 1;
    while (next - 1 > s && sum(next - 1, cut) <= overlap) next--;
    // Never restart inside a split word: step forward to the first atom that begins after a real boundary.
    while (next <= cut && next > 0 && atoms[next - 1].after === BOUNDARY.none) next++;
    s = next;
  }
  return chunks;
}
