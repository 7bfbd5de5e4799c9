// Prompt complexity analysis: a score in [0,1] and a level from cheap text features, without running a model.
import { CONFIG_DEFAULTS } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { LEXICON_DOMAINS, TECHNICAL_LEXICON, type LexiconDomain } from "./technical-lexicon.ts";

export const COMPLEXITY_LEVELS = ["low", "medium", "high"] as const;
export type ComplexityLevel = (typeof COMPLEXITY_LEVELS)[number];

export const COMPLEXITY_FEATURES = [
  "length",
  "technical",
  "code",
  "math",
  "reasoning",
  "structure",
  "languageMix",
  "turns",
] as const;
export type ComplexityFeature = (typeof COMPLEXITY_FEATURES)[number];

export interface ComplexityMessage {
  role: string;
  content: string;
}

export interface ComplexityInput {
  prompt?: string;
  messages?: readonly ComplexityMessage[];
}

export interface ComplexityOptions {
  /**
   * The score each feature adds when saturated (its normalised value is 1). score = min(1, Σ weight × value):
   * weights do not sum to 1 on purpose, so one strong signal (a code block, a derivation) can lift a short
   * prompt out of "low" on its own. Defaults to DEFAULT_COMPLEXITY_OPTIONS.weights.
   */
  weights?: Partial<Record<ComplexityFeature, number>>;
  /** Scores separating low|medium and medium|high. Defaults to config `adaptive.thresholds`. */
  thresholds?: readonly [number, number];
  /** Token counts mapped (log scale) to a length value of 0 and 1. Defaults to [16, 640]. */
  lengthTokens?: readonly [number, number];
  /**
   * Longest text scanned for markers; longer input is sampled (its head and tail, where the latest turn is) and
   * its token count extrapolated, so a 1 MB prompt costs the same few milliseconds as a 64 KB one. Defaults to 65536.
   */
  maxAnalyzedChars?: number;
}

export interface FeatureScore {
  /** The raw measurement (tokens, terms, markers…), before normalisation. */
  raw: number;
  /** raw normalised to [0,1]. */
  value: number;
  /** weight × value: what this feature added to the score (before the clamp to 1). */
  contribution: number;
}

export interface ComplexityResult {
  score: number;
  level: ComplexityLevel;
  /** Approximate token count of the analysed text. */
  tokens: number;
  features: Record<ComplexityFeature, FeatureScore>;
  /** Lexicon domains with at least one term, for explanations. */
  domains: LexiconDomain[];
}

/**
 * The weights and thresholds, calibrated on src/policy/complexity-fixtures.ts:
 *
 * | feature     | weight | raw measurement                                   | value = 1 at            |
 * |-------------|--------|---------------------------------------------------|-------------------------|
 * | length      | 0.25   | approximate tokens (see estimateTokens)           | 640 tokens (0 ≤ 16)     |
 * | technical   | 0.40   | lexicon terms (unique count and density)          | 8 terms and 15 % density|
 * | code        | 0.50   | fences×3 + code lines + inline code×2 +           | 10                      |
 * |             |        | (keywords + operators)/2 + 4 if code is requested |                         |
 * |             |        | + technical tokens (flags, files, paths, ids; ≤6) |                         |
 * | math        | 0.50   | LaTeX×1.5 + $…$×1.5 + symbols + equations +       | 6                       |
 * |             |        | (powers, subscripts, percentages, amounts)/2      |                         |
 * | reasoning   | 0.35   | distinct heavy tasks (prove, derive, design…) +   | 2.5                     |
 * |             |        | 0.6 × distinct light asks (explain, why, compare) |                         |
 * | structure   | 0.15   | list items + table rows×1.5 + headings            | 8                       |
 * | languageMix | 0.10   | languages (scripts + Latin function words)        | 3 (2 → 0.7, 1 non-Latin → 0.3) |
 * | turns       | 0.10   | user turns in the conversation                    | 7 (0 at 1)              |
 *
 * Levels: score below the first of config `adaptive.thresholds` → low, below the second → medium, else high.
 */
export const DEFAULT_COMPLEXITY_OPTIONS = Object.freeze({
  weights: Object.freeze({
    length: 0.25,
    technical: 0.4,
    code: 0.5,
    math: 0.5,
    reasoning: 0.35,
    structure: 0.15,
    languageMix: 0.1,
    turns: 0.1,
  }) as Readonly<Record<ComplexityFeature, number>>,
  thresholds: CONFIG_DEFAULTS.adaptive.thresholds,
  lengthTokens: Object.freeze([16, 640]) as readonly [number, number],
  maxAnalyzedChars: 65_536,
});

const clamp01 = (x: number): number => (x <= 0 || Number.isNaN(x) ? 0 : x >= 1 ? 1 : x);

// ---------------------------------------------------------------------------------------------------------------
// Tokens

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u;
const PIECE =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]|[\p{L}\p{M}\p{N}_]+|[^\s\p{L}\p{M}\p{N}_]/gu;

/**
 * Approximates a BPE/SentencePiece token count without a vocabulary: an ASCII word of up to 7 characters is one
 * token (common words are whole vocabulary entries), a longer one one per 5 characters; other alphabetic scripts
 * one per 2 characters (they are under-represented in vocabularies); each CJK/Thai character and each punctuation
 * mark one token.
 */
export function estimateTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(PIECE)) {
    const piece = m[0];
    if (CJK.test(piece)) n += 1;
    else if (/^[\p{L}\p{M}\p{N}_]/u.test(piece))
      n += /^[\x00-\x7f]+$/.test(piece)
        ? piece.length <= 7
          ? 1
          : Math.ceil(piece.length / 5)
        : Math.ceil(piece.length / 2);
    else n += 1;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Technical vocabulary

const LEXICON = new Map<string, LexiconDomain>();
let MAX_TERM_WORDS = 1;
for (const domain of LEXICON_DOMAINS) {
  for (const term of TECHNICAL_LEXICON[domain]) {
    const norm = term.replace(/-/g, " ");
    if (!LEXICON.has(norm)) LEXICON.set(norm, domain);
    MAX_TERM_WORDS = Math.max(MAX_TERM_WORDS, norm.split(" ").length);
  }
}

function lexiconWords(text: string): string[] {
  return (
    text
      .toLowerCase()
      .replace(/[-_/]/g, " ")
      .match(/[a-z0-9][a-z0-9+#'.]*/g) ?? []
  ).map((w) => w.replace(/[.']+$/, "").replace(/'s$/, ""));
}

function singular(w: string): string[] {
  if (w.length > 4 && w.endsWith("ies")) return [`${w.slice(0, -3)}y`];
  if (w.length > 3 && w.endsWith("es")) return [w.slice(0, -2), w.slice(0, -1)];
  if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) return [w.slice(0, -1)];
  return [];
}

function matchLexicon(words: string[]): { hits: number; unique: Set<string>; domains: Set<LexiconDomain> } {
  const unique = new Set<string>();
  const domains = new Set<LexiconDomain>();
  let hits = 0;
  let i = 0;
  while (i < words.length) {
    // Build the n-grams starting here once, then try the longest first so that "partial differential equation" is
    // one term, not three.
    const grams: string[] = [];
    let prefix = "";
    for (let n = 0; n < MAX_TERM_WORDS && i + n < words.length; n++)
      grams.push((prefix = n === 0 ? words[i]! : `${prefix} ${words[i + n]}`));
    let matched = 0;
    for (let n = grams.length; n >= 1 && !matched; n--) {
      const gram = grams[n - 1]!;
      const head = n === 1 ? "" : `${grams[n - 2]} `;
      for (const cand of [gram, ...singular(words[i + n - 1]!).map((w) => head + w)]) {
        const domain = LEXICON.get(cand);
        if (domain) {
          unique.add(cand);
          domains.add(domain);
          hits++;
          matched = n;
          break;
        }
      }
    }
    i += matched || 1;
  }
  return { hits, unique, domains };
}

// ---------------------------------------------------------------------------------------------------------------
// Code

const FENCE = /^[ \t]*(```|~~~)/gm;
const INLINE_CODE = /`[^`\n]+`/g;
const CODE_KEYWORDS = [
  /\b(def|fn|func)\s+\w+\s*\(/g,
  /\bfunction\b\s*\w*\s*\(/g,
  /\bclass\s+\w+\s*[:({<]/g,
  /\b(import|from)\s+[\w.@/'"-]+\s+(import|from)?/g,
  /#include\s*[<"]/g,
  /\b(public|private|protected|static)\s+(static\s+)?\w+[\w<>[\]]*\s+\w+\s*[(=;]/g,
  /\b(const|let|var|auto)\s+\w+\s*[:=]/g,
  /\breturn\b[^\n]*;/g,
  /\b(console\.log|print|printf|println|std::\w+)\s*\(/g,
  /\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b[^\n]*\b(FROM|WHERE|VALUES|SET)\b/g,
  /\b(async|await)\s+\w+/g,
  /\b(for|while|if)\s*\([^)\n]*\)\s*\{/g,
  /\bfor\s+\w+\s+in\s+[^\n]+:\s*$/gm,
  /^[ \t]*(apiVersion|kind|metadata|spec):/gm,
];
const CODE_OPERATORS = /=>|->|===|!==|==|!=|&&|\|\||\+\+|::|\+=|-=|<=|>=|<<|>>/g;
const CODE_LINE = [
  /[;{}]\s*$/,
  /^\s*(def|class|function|for|while|if|elif|else|return|import|from|const|let|var|public|private|#include|fn|func|package|try|catch|except|SELECT|INSERT|UPDATE)\b[^\n]*[:({=;]\s*\S*/,
  /^\s*[A-Za-z_$][\w.$[\]]*\s*(=|\+=|-=|\*=)\s*[^=\s][^\n]*[()[\];]/,
  /^\s{2,}\S+\s*\([^)]*\)\s*[;:]?\s*$/,
  /^\s*(\/\/|\/\*|\*\/)/,
];

function countMatches(text: string, re: RegExp): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) n++;
  return n;
}

/**
 * Tokens that only occur in technical text even outside code blocks: CLI flags, file names, paths,
 * snake_case/camelCase identifiers and calls. Each counts 1, at most 6 in all, so prose full of file names
 * does not read as a program.
 */
const TECH_TOKENS = [
  /(?:^|\s)--?[a-zA-Z][\w=-]*/g,
  /(?:\b[\w-]+|(?<=\s))\.(?:jpe?g|png|gif|svg|txt|csv|json|ya?ml|md|py|js|mjs|ts|tsx|java|go|rs|c|cc|cpp|h|hpp|sh|sql|html|css|xml|toml|ini|log|pdf|docx?|xlsx?|gguf)\b/g,
  /(?:^|\s)(?:~|\.{1,2})?\/[\w.-]+\/[\w./-]*/g,
  /\b[a-z][a-z0-9]*_[a-z0-9_]+\b/g,
  /\b[a-z]+[A-Z][a-zA-Z0-9]+\b/g,
  /\b\w+\(\)/g,
];

/** Asking for code counts like a few lines of it: the answer will be code even when the question holds none. */
const CODE_REQUEST =
  /\b(write|implement|create|build|generate|fix|refactor)\b[^.?!\n]{0,60}\b(function|class|method|script|program|module|query|regex|code|endpoint|unit tests?)\b/i;

function codeRaw(text: string): number {
  const fences = Math.floor(countMatches(text, FENCE) / 2);
  let codeLines = 0;
  for (const line of text.split("\n")) if (CODE_LINE.some((re) => re.test(line))) codeLines++;
  const keywords = CODE_KEYWORDS.reduce((n, re) => n + countMatches(text, re), 0);
  const operators = countMatches(text, CODE_OPERATORS);
  const inline = countMatches(text, INLINE_CODE);
  const request = CODE_REQUEST.test(text) ? 4 : 0;
  const techTokens = Math.min(
    6,
    TECH_TOKENS.reduce((n, re) => n + countMatches(text, re), 0),
  );
  return fences * 3 + codeLines + (keywords + operators) / 2 + inline * 2 + request + techTokens;
}

// ---------------------------------------------------------------------------------------------------------------
// Math

const LATEX =
  /\\(frac|dfrac|sum|prod|int|iint|oint|sqrt|lim|partial|nabla|infty|alpha|beta|gamma|delta|epsilon|varepsilon|theta|lambda|mu|sigma|omega|pi|phi|psi|cdot|times|leq|geq|neq|approx|equiv|in|forall|exists|mathbb|mathbf|mathcal|hat|bar|vec|left|right|begin|end|log|ln|sin|cos|exp|binom|det|top)\b/g;
const DOLLAR_MATH = /\$\$[^$]+\$\$|\$(?!\s)(?!\d+(?:[.,]\d+)?(?:\s|$|[.,!?)]))[^$\n]+?(?<!\s)\$/g;
const MATH_SYMBOLS = /[∑∏∫∮√∞∂∇∈∉∀∃≤≥≠≈≡±×÷→⇒⇔∧∨¬⊂⊆∪∩]/g;
const EQUATION =
  /(?:\b[a-zA-Z]\w*\s*\([a-z, ]+\)|\b\d*[a-zA-Z](?:\^\S+|_\{?\w+\}?)?)\s*(?:[+\-*/]\s*[\w^()]+\s*)*=\s*[-\w(\\]/g;
/** Percentages and money amounts: quantitative constraints the answer must compute with. */
const QUANTITIES = /\b\d+(?:[.,]\d+)?\s?%|[$€£¥]\s?\d/g;
const POWER_SUBSCRIPT = /\b[a-zA-Z)\]]\s?\^\s?[\w{(-]|\b[a-zA-Z]_\{?[\w]+\}?|\bO\(\s*n[\w^ *+]*\)/g;

function mathRaw(text: string): number {
  const latex = countMatches(text, LATEX);
  const dollars = countMatches(text, DOLLAR_MATH);
  const symbols = countMatches(text, MATH_SYMBOLS);
  const equations = countMatches(text, EQUATION);
  const powers = countMatches(text, POWER_SUBSCRIPT);
  const quantities = countMatches(text, QUANTITIES);
  return latex * 1.5 + dollars * 1.5 + symbols + equations + powers * 0.5 + quantities * 0.5;
}

// ---------------------------------------------------------------------------------------------------------------
// Reasoning demand

/** Tasks that need multi-step work: each distinct one adds 1 to the reasoning measurement. */
const REASONING_HEAVY: readonly RegExp[] = [
  /\bprov(e|ing)\b|\bproof\b|\bbeweise\b|\bprouve[rz]?\b|\bdemuestr[ae]\b|证明|証明/,
  /\bderiv(e|ing|ation)\b|\bherleit|推导|導出/,
  /\bstep[- ]by[- ]step\b|\bshow (your|the|all) (steps|work|formulas)\b|\bby hand\b/,
  /\banaly[sz](e|ing|is)\b|\banalysiere\b|\banaly[sz]er\b|分析/,
  /\btrade[- ]?offs?\b|权衡|トレードオフ/,
  /\boptimi[sz](e|ing|ation)\b|\boptimier|优化|最適化/,
  /\bimplement(ing|ation)?\b|\bimplementier|实现|実装/,
  /\brefactor(ing)?\b/,
  /\bdebug(ging)?\b|\bfind the (bug|race|leak|error)\b|\bfix (it|this|the|my)\b/,
  /\bdesign(ing)?\b(?! (team|agency))|\barchitect(ure)?\b|设计|設計/,
  /\b(evaluate|assess|justify|critique|review)\b/,
  /\bedge cases?\b|\bfailure modes?\b|\brisks\b|边界情况/,
  /\b(rigorous(ly)?|formal(ly)?)\b/,
  /\bsensitivity\b|\bimplications?\b/,
  /\b(calculate|compute|solve|estimate|quantify)\b/,
  /\b(draft|write) (a|an) (compliant|detailed|formal)\b/,
];
/** Requests for an explanation, comparison or rewrite: each distinct one adds 0.6. */
const REASONING_LIGHT: readonly RegExp[] = [
  /\bexplain\b|\berkl[äa]r|\bexpli(que|quez|car|ca)\b|\bspiega\b|解释|説明/,
  /\bwhy\b|\bwarum\b|\bpourquoi\b|\bpor ?qu[ée]\b|\bperch[ée]\b|为什么|なぜ/,
  /\bhow (does|do|can|should|would)\b|\bhow\b[^.?!\n]{0,40}\bworks?\b|\bwie\b[^.?!\n]{0,40}\bfunktioniert|\bcomment\b[^.?!\n]{0,40}\bfonctionne|\bc[óo]mo funciona\b/,
  /\bdifference between\b|\bunterschied\b|\bdiff[ée]rence entre\b|\bdiferencia entre\b|区别|違い/,
  /\bcompar(e|ing|ison)\b|\bversus\b|\bvs\.?\b|\bpros and cons\b|\bvergleich|比较|比較/,
  /\bwhat does\b[^?.!\n]*\b(mean|do|match|return|imply)\b/,
  /\b(rewrite|summari[sz]e|paraphrase|proofread)\b/,
  /\b(plan|schedule|roadmap)\b/,
  /\b(which (one|option|is better)|should i)\b/,
  /\bin which (situations|cases)\b|\bwhen (can|should|is)\b/,
];

// ---------------------------------------------------------------------------------------------------------------
// Structure

function structureRaw(text: string): number {
  let lists = 0;
  let tableRows = 0;
  let headings = 0;
  for (const line of text.split("\n")) {
    if (/^\s*([-*•+]|\d{1,2}[.)])\s+\S/.test(line)) lists++;
    else if (/^\s*\|.*\|\s*$/.test(line)) tableRows++;
    else if (/^#{1,6}\s+\S/.test(line)) headings++;
  }
  return lists + tableRows * 1.5 + headings;
}

// ---------------------------------------------------------------------------------------------------------------
// Language mix

const SCRIPTS: ReadonlyArray<[string, RegExp]> = [
  ["latin", /\p{Script=Latin}/u],
  ["cyrillic", /\p{Script=Cyrillic}/u],
  ["greek", /\p{Script=Greek}/u],
  ["han", /\p{Script=Han}/u],
  ["kana", /[\p{Script=Hiragana}\p{Script=Katakana}]/u],
  ["hangul", /\p{Script=Hangul}/u],
  ["arabic", /\p{Script=Arabic}/u],
  ["hebrew", /\p{Script=Hebrew}/u],
  ["devanagari", /\p{Script=Devanagari}/u],
  ["thai", /\p{Script=Thai}/u],
];

/** Function words distinctive enough to tell Latin-script languages apart (shared words are left out). */
const STOPWORDS: Readonly<Record<string, ReadonlySet<string>>> = {
  en: new Set(["the", "and", "is", "are", "of", "with", "what", "how", "this", "that", "you", "my", "it", "for", "to"]),
  fr: new Set([
    "le",
    "les",
    "des",
    "est",
    "et",
    "une",
    "je",
    "vous",
    "avec",
    "pour",
    "pas",
    "sur",
    "dans",
    "ça",
    "comment",
    "qui",
  ]),
  de: new Set([
    "der",
    "die",
    "das",
    "und",
    "ist",
    "nicht",
    "ich",
    "mit",
    "eine",
    "wie",
    "warum",
    "bitte",
    "mir",
    "sie",
    "als",
  ]),
  es: new Set(["el", "los", "las", "es", "y", "una", "por", "para", "con", "qué", "cómo", "muy", "pero", "está"]),
  it: new Set(["il", "gli", "è", "e", "una", "per", "con", "che", "non", "sono", "della", "perché", "questo"]),
  pt: new Set(["o", "os", "as", "é", "uma", "não", "com", "para", "que", "você", "isso", "muito", "está"]),
};

/** Distinct languages (scripts, plus Latin-script languages told apart by function words) and whether none is English. */
function detectLanguages(text: string): { languages: number; nonEnglishOnly: boolean } {
  // Count scripts by letter runs of 2+ so that a lone Greek σ in a formula is not "Greek".
  const runs = text.match(/[\p{L}\p{M}]{2,}/gu) ?? [];
  const scriptLetters = new Map<string, number>();
  for (const run of runs) {
    for (const [name, re] of SCRIPTS) {
      if (re.test(run)) {
        scriptLetters.set(name, (scriptLetters.get(name) ?? 0) + run.length);
        break;
      }
    }
  }
  // Japanese writes kanji (Han) and kana together: one language, not two.
  if (scriptLetters.has("kana") && scriptLetters.has("han")) {
    scriptLetters.set("kana", scriptLetters.get("kana")! + scriptLetters.get("han")!);
    scriptLetters.delete("han");
  }
  const scripts = [...scriptLetters].filter(([, n]) => n >= 3).map(([s]) => s);
  // Among Latin-script text, count languages by distinctive function words.
  const words = (text.toLowerCase().match(/\p{Script=Latin}+/gu) ?? []).filter(Boolean);
  const hits: Record<string, number> = {};
  for (const w of words)
    for (const [lang, set] of Object.entries(STOPWORDS)) if (set.has(w)) hits[lang] = (hits[lang] ?? 0) + 1;
  const totalHits = Object.values(hits).reduce((a, b) => a + b, 0);
  const latinLangs = Object.values(hits).filter((n) => n >= 3 && n / totalHits >= 0.2).length;
  const languages =
    scripts.filter((s) => s !== "latin").length + Math.max(scripts.includes("latin") ? 1 : 0, latinLangs);
  const top = Object.entries(hits).sort((a, b) => b[1] - a[1])[0];
  const nonEnglishLatin = top !== undefined && top[0] !== "en" && top[1] >= 2 && (hits.en ?? 0) <= 1;
  return {
    languages,
    nonEnglishOnly: (scripts.length > 0 && !scripts.includes("latin")) || (languages === 1 && nonEnglishLatin),
  };
}

// ---------------------------------------------------------------------------------------------------------------

function validate(options: ComplexityOptions): void {
  const t = options.thresholds;
  if (t && !(t.length === 2 && t[0] >= 0 && t[1] <= 1 && t[0] <= t[1])) {
    throw new ReflexiaError(
      "RFX_CONFIG_INVALID",
      `complexity thresholds must be two ascending numbers in [0,1], got ${JSON.stringify(t)}`,
    );
  }
  for (const [k, w] of Object.entries(options.weights ?? {})) {
    if (!(COMPLEXITY_FEATURES as readonly string[]).includes(k) || typeof w !== "number" || !(w >= 0)) {
      throw new ReflexiaError("RFX_CONFIG_INVALID", `complexity weight ${k} must be a known feature with a weight ≥ 0`);
    }
  }
  const m = options.maxAnalyzedChars;
  if (m !== undefined && !(Number.isInteger(m) && m >= 256)) {
    throw new ReflexiaError("RFX_CONFIG_INVALID", `maxAnalyzedChars must be an integer ≥ 256, got ${String(m)}`);
  }
  const l = options.lengthTokens;
  if (l && !(l[0] > 0 && l[1] > l[0])) {
    throw new ReflexiaError(
      "RFX_CONFIG_INVALID",
      `lengthTokens must be two ascending positive numbers, got ${JSON.stringify(l)}`,
    );
  }
}

/** Maps a score to a level with the given thresholds: < t0 low, < t1 medium, else high. */
export function levelOf(
  score: number,
  thresholds: readonly [number, number] = DEFAULT_COMPLEXITY_OPTIONS.thresholds,
): ComplexityLevel {
  return score < thresholds[0] ? "low" : score < thresholds[1] ? "medium" : "high";
}

/**
 * Scores a prompt or conversation. System messages are left out of the text: a role's long system prompt is the
 * same for every request and says nothing about how hard this one is. Pure and synchronous; about linear in the
 * text length.
 */
export function analyzeComplexity(input: ComplexityInput, options: ComplexityOptions = {}): ComplexityResult {
  validate(options);
  const weights = { ...DEFAULT_COMPLEXITY_OPTIONS.weights, ...options.weights };
  const thresholds = options.thresholds ?? DEFAULT_COMPLEXITY_OPTIONS.thresholds;
  const [lenLo, lenHi] = options.lengthTokens ?? DEFAULT_COMPLEXITY_OPTIONS.lengthTokens;

  const parts: string[] = [];
  let userTurns = 0;
  for (const m of input.messages ?? []) {
    if (typeof m?.content !== "string" || m.role === "system") continue;
    parts.push(m.content);
    if (m.role === "user") userTurns++;
  }
  if (typeof input.prompt === "string" && input.prompt.length > 0) {
    parts.push(input.prompt);
    userTurns++;
  }
  const full = parts.join("\n\n");
  const maxChars = options.maxAnalyzedChars ?? DEFAULT_COMPLEXITY_OPTIONS.maxAnalyzedChars;
  const half = Math.floor(maxChars / 2);
  const text = full.length <= maxChars ? full : `${full.slice(0, half)}\n\n${full.slice(full.length - half)}`;

  const tokens =
    full.length <= maxChars ? estimateTokens(text) : Math.round((estimateTokens(text) * full.length) / text.length);
  const words = lexiconWords(text);
  const lex = matchLexicon(words);
  const density = words.length > 0 ? lex.hits / words.length : 0;
  const langs = detectLanguages(text);
  const lower = text.toLowerCase();
  const reasoning =
    REASONING_HEAVY.reduce((n, re) => n + (re.test(lower) ? 1 : 0), 0) +
    0.6 * REASONING_LIGHT.reduce((n, re) => n + (re.test(lower) ? 1 : 0), 0);

  const raw: Record<ComplexityFeature, number> = {
    length: tokens,
    technical: lex.unique.size,
    code: codeRaw(text),
    math: mathRaw(text),
    reasoning,
    structure: structureRaw(text),
    languageMix: langs.languages,
    turns: userTurns,
  };
  const value: Record<ComplexityFeature, number> = {
    length: tokens <= lenLo ? 0 : clamp01(Math.log(tokens / lenLo) / Math.log(lenHi / lenLo)),
    // Both breadth (distinct terms) and density count: a long essay with two jargon words is not technical, a
    // four-word question made of two terms is.
    technical: 0.5 * clamp01(lex.unique.size / 8) + 0.5 * clamp01(density / 0.15),
    code: clamp01(raw.code / 10),
    math: clamp01(raw.math / 6),
    reasoning: clamp01(reasoning / 2.5),
    structure: clamp01(raw.structure / 8),
    // Two languages already strain a small quantized model; a single non-English language counts a little because
    // quantization costs more quality outside English.
    languageMix: langs.languages >= 3 ? 1 : langs.languages === 2 ? 0.7 : langs.nonEnglishOnly ? 0.3 : 0,
    turns: clamp01((userTurns - 1) / 6),
  };
  const features = {} as Record<ComplexityFeature, FeatureScore>;
  let sum = 0;
  for (const f of COMPLEXITY_FEATURES) {
    const contribution = weights[f] * value[f];
    features[f] = { raw: raw[f], value: value[f], contribution };
    sum += contribution;
  }
  const score = clamp01(sum);
  return { score, level: levelOf(score, thresholds), tokens, features, domains: [...lex.domains] };
}
