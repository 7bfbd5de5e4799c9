// The built-in offline embedder: signed hashing of word, bigram and character n-gram features, weighted by salience.
import { CONFIG_DEFAULTS } from "../../config/index.ts";
import { stemEnglish } from "../chunking/stem-english.ts";
import { l2Normalize, type Embedder } from "./embedder.ts";

export interface HashEmbedderOptions {
  /** Vector dimension. Defaults to config `vector_db.embedding_dim`. */
  dim?: number;
  /** Feature weights, for experiments; changing them changes the vector space (and the embedder id). */
  weights?: Partial<HashFeatureWeights>;
}

export interface HashFeatureWeights {
  word: number;
  /** Words among the most frequent in general English (beyond stopwords): they carry little topic. */
  common: number;
  /** Extra factor for salient words: capitalised inside a sentence (names) or containing digits (codes, years). */
  salient: number;
  stopword: number;
  bigram: number;
  /** Total weight of one word's character n-grams, shared among them so long words do not dominate. */
  charGrams: number;
}

/**
 * Function words carry almost no topic, and without corpus statistics (no IDF) they would dominate the
 * vectors: they are kept at a low weight so a query made only of them still matches something.
 */
const STOPWORDS = new Set(
  (
    "a an and are as at be been being but by can could did do does doing done for from had has have having he her hers " +
    "him his how i if in into is it its itself just me more most my no nor not of off on once only or other our ours " +
    "out over own same she should so some such than that the their theirs them then there these they this those " +
    "through to too under until up very was we were what when where which while who whom why will with would you " +
    "your yours also about above after again against all am any because before below between both down during each " +
    "few further here let may might must shall us via per upon whose within without yet tell called named known"
  ).split(" "),
);

/**
 * Frequent general-English content words (roughly the top few hundred by corpus frequency after stopwords):
 * without IDF they would carry as much weight as a document's rare, topical words.
 */
const COMMON_WORDS = new Set(
  (
    "time year people way day man men woman women thing things life child children world school state family student " +
    "group country problem hand part place case week company system program question work government number night " +
    "point home water room mother area money story fact month lot right study book eye job word business issue side " +
    "kind head house service friend father power hour game line end member law car city community name president team " +
    "minute idea kid body information back parent face others level office door health person art war history party " +
    "result change morning reason research girl guy moment air teacher force education example use make go get take " +
    "see come think look want give find ask seem feel try leave put mean keep begin help talk turn start show hear " +
    "play run move like live believe hold bring happen write provide sit stand lose pay meet include continue set " +
    "learn lead understand watch follow stop create speak read allow add spend grow open walk win offer remember " +
    "love consider appear buy wait serve die send expect build stay fall cut reach kill remain suggest raise pass " +
    "sell require report decide pull good new first last long great little own old big high different small large " +
    "next early young important public bad able late hard major better best certain free full low real sure whole " +
    "local social political national possible human main general common several many much well often still never " +
    "always really almost already later less least far away today yet ever even however though although since " +
    "around among across along behind beyond toward towards one two three four five six seven eight nine ten first " +
    "second third hundred thousand million new every another same last part many lot often usually often including " +
    "according known used based called make made makes making found given taken seen said says say according also " +
    "use used using uses include includes included various various type types form forms include area areas range " +
    "order order case cases value values set sets process level levels term terms period periods"
  ).split(" "),
);

export const DEFAULT_HASH_WEIGHTS: Readonly<HashFeatureWeights> = {
  word: 1.0,
  common: 0.4,
  salient: 2.0,
  stopword: 0.08,
  bigram: 0.3,
  charGrams: 1.3,
};

/** FNV-1a over UTF-16 units of s[from, to) seeded per feature kind, then murmur3's finaliser for mixing. */
function hashRange(s: string, from: number, to: number, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = from; i < to; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const SEED_WORD = 0x9e3779b9;
const SEED_BIGRAM = 0x7f4a7c15;
const SEED_CHAR = 0x165667b1;

/** Occurrence count and weight per hashed feature; the vector gets weight·(1 + ln count) (sublinear tf). */
type Features = Map<number, { count: number; weight: number }>;

function bump(feats: Features, key: number, weight: number): void {
  const f = feats.get(key);
  if (f) {
    f.count++;
    // The same feature can come from words of different lengths (char n-grams): keep the strongest weight.
    if (weight > f.weight) f.weight = weight;
  } else feats.set(key, { count: 1, weight });
}

function embedOne(text: string, dim: number, WEIGHT: HashFeatureWeights): Float32Array {
  const v = new Float32Array(dim);
  const folded = text.normalize("NFKD").replace(/\p{M}+/gu, "");
  const wordFeat: Features = new Map();
  const bigramFeat: Features = new Map();
  const charFeat: Features = new Map();
  let prevContent: string | undefined;
  let sentenceStart = true;
  for (const m of folded.matchAll(/[\p{L}\p{N}]+|[.!?:;\n]/gu)) {
    const tok = m[0];
    if (tok.length === 1 && ".!?:;\n".includes(tok)) {
      sentenceStart = true;
      continue;
    }
    const raw = tok.toLowerCase();
    // A capital inside a sentence marks a name; digits mark codes, years and quantities: both are what
    // questions usually hinge on.
    const salient = (!sentenceStart && tok[0] !== raw[0]) || /\d/.test(tok);
    sentenceStart = false;
    const w = stemEnglish(raw);
    const isStop = STOPWORDS.has(raw);
    const base = isStop ? WEIGHT.stopword : COMMON_WORDS.has(raw) || COMMON_WORDS.has(w) ? WEIGHT.common : WEIGHT.word;
    const weight = salient && !isStop ? base * WEIGHT.salient : base;
    bump(wordFeat, hashRange(w, 0, w.length, SEED_WORD), weight);
    if (isStop) continue;
    if (prevContent !== undefined) {
      const pair = `${prevContent} ${w}`;
      bump(bigramFeat, hashRange(pair, 0, pair.length, SEED_BIGRAM), WEIGHT.bigram);
    }
    prevContent = w;
    // Character 3-, 4- and 5-grams of "<word>" link inflections, compounds and typos that word features miss.
    const marked = `<${raw}>`;
    const grams = Math.max(0, marked.length - 2) + Math.max(0, marked.length - 3) + Math.max(0, marked.length - 4);
    if (grams === 0) continue;
    const each = (WEIGHT.charGrams * (weight / WEIGHT.word)) / Math.sqrt(grams);
    for (let n = 3; n <= 5; n++)
      for (let i = 0; i + n <= marked.length; i++) bump(charFeat, hashRange(marked, i, i + n, SEED_CHAR + n), each);
  }
  for (const feats of [wordFeat, bigramFeat, charFeat]) {
    for (const [h, f] of feats) {
      // Low bits pick the dimension, the top bit the sign: signed hashing keeps collisions unbiased.
      v[(h & 0x7fffffff) % dim] += (h & 0x80000000 ? -f.weight : f.weight) * (1 + Math.log(f.count));
    }
  }
  return l2Normalize(v);
}

/** Creates the built-in embedder: deterministic, model-free, L2-normalised vectors. */
export function createHashEmbedder(options: HashEmbedderOptions = {}): Embedder {
  const dim = options.dim ?? CONFIG_DEFAULTS.vector_db.embedding_dim;
  if (!Number.isInteger(dim) || dim < 8) throw new RangeError(`hash embedder dim must be an integer >= 8, got ${dim}`);
  const weights = { ...DEFAULT_HASH_WEIGHTS, ...options.weights };
  const custom = Object.keys(DEFAULT_HASH_WEIGHTS).some(
    (k) => weights[k as keyof HashFeatureWeights] !== DEFAULT_HASH_WEIGHTS[k as keyof HashFeatureWeights],
  );
  const suffix = custom ? `-w${Object.values(weights).join("_")}` : "";
  return {
    id: `hash-v1-${dim}${suffix}`,
    dim,
    async embed(texts: string[]): Promise<Float32Array[]> {
      return texts.map((t) => embedOne(t, dim, weights));
    },
  };
}
