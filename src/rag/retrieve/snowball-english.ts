// The Snowball English ("Porter2") stemmer, as LanceDB's full-text index applies it (tantivy's `Stemmer` for
// English, from the rust-stemmers crate): the algorithm of snowballstem.org/algorithms/english/stemmer.html in the
// revision that crate compiles (R1 exceptions gener/commun/arsen only; no "ogist"/"-eed" changes of Snowball 3).
// The BM25 side of the in-memory index must stem exactly like it, or the two indexes return different chunks.
//
// Input is one lower-cased token. Only a–y are letters of the algorithm; any other character (a digit, an accented
// or non-Latin letter) is a non-vowel, as in the generated Rust code.

/** Words stemmed as a whole, before anything else (exception1); a word mapped to itself is left as it is. */
const EXCEPTIONS: ReadonlyMap<string, string> = new Map([
  ["skis", "ski"],
  ["skies", "sky"],
  ["dying", "die"],
  ["lying", "lie"],
  ["tying", "tie"],
  ["idly", "idl"],
  ["gently", "gentl"],
  ["ugly", "ugli"],
  ["early", "earli"],
  ["only", "onli"],
  ["singly", "singl"],
  ["sky", "sky"],
  ["news", "news"],
  ["howe", "howe"],
  ["atlas", "atlas"],
  ["cosmos", "cosmos"],
  ["bias", "bias"],
  ["andes", "andes"],
]);

/** Words left as they are once step 1a has run (exception2). */
const AFTER_1A_INVARIANT = new Set([
  "inning",
  "outing",
  "canning",
  "herring",
  "earring",
  "proceed",
  "exceed",
  "succeed",
]);

/** Prefixes after which R1 starts, whatever the vowels (so "generous" and "general" keep "gener"). */
const R1_PREFIXES = ["gener", "commun", "arsen"];

type Rule = readonly [suffix: string, action: string];

/** Step 2 (in R1), longest suffix first; "*og" needs a preceding l, "*li" a valid li-ending before it. */
const STEP2: readonly Rule[] = sortLongestFirst([
  ["tional", "tion"],
  ["enci", "ence"],
  ["anci", "ance"],
  ["abli", "able"],
  ["entli", "ent"],
  ["izer", "ize"],
  ["ization", "ize"],
  ["ational", "ate"],
  ["ation", "ate"],
  ["ator", "ate"],
  ["alism", "al"],
  ["aliti", "al"],
  ["alli", "al"],
  ["fulness", "ful"],
  ["ousli", "ous"],
  ["ousness", "ous"],
  ["iveness", "ive"],
  ["iviti", "ive"],
  ["biliti", "ble"],
  ["bli", "ble"],
  ["ogi", "*og"],
  ["fulli", "ful"],
  ["lessli", "less"],
  ["li", "*li"],
]);

/** Step 3 (in R1); "*r2" deletes only in R2. */
const STEP3: readonly Rule[] = sortLongestFirst([
  ["tional", "tion"],
  ["ational", "ate"],
  ["alize", "al"],
  ["icate", "ic"],
  ["iciti", "ic"],
  ["ical", "ic"],
  ["ful", ""],
  ["ness", ""],
  ["ative", "*r2"],
]);

/** Step 4 (in R2): deleted; "ion" only after s or t. */
const STEP4: readonly string[] = [
  "al",
  "ance",
  "ence",
  "er",
  "ic",
  "able",
  "ible",
  "ant",
  "ement",
  "ment",
  "ent",
  "ism",
  "ate",
  "iti",
  "ous",
  "ive",
  "ize",
  "ion",
].sort((a, b) => b.length - a.length);

/** Step 1b, longest first. */
const STEP1B = ["eedly", "ingly", "edly", "eed", "ing", "ed"];

function sortLongestFirst(rules: Rule[]): Rule[] {
  return rules.sort((a, b) => b[0].length - a[0].length);
}

/** a e i o u y: `Y` (a consonant y) and everything outside a–z are non-vowels. */
function isVowel(c: string | undefined): boolean {
  return c === "a" || c === "e" || c === "i" || c === "o" || c === "u" || c === "y";
}

/** The vowels plus w, x and Y: what may not end a short syllable. */
function isVowelWxY(c: string): boolean {
  return isVowel(c) || c === "w" || c === "x" || c === "Y";
}

/** Letters that may precede a deleted "li". */
function isValidLi(c: string | undefined): boolean {
  return c !== undefined && "cdeghkmnrt".includes(c);
}

/** Whether `w` has a vowel before index `end`. */
function hasVowelBefore(w: string, end: number): boolean {
  for (let i = 0; i < end; i++) if (isVowel(w[i])) return true;
  return false;
}

/** A short syllable ends at `k`: non-vowel, vowel, non-vowel other than w/x/Y; or vowel, non-vowel at the start. */
function endsShortSyllable(w: string, k: number): boolean {
  if (k >= 3 && !isVowelWxY(w[k - 1]) && isVowel(w[k - 2]) && !isVowel(w[k - 3])) return true;
  return k === 2 && !isVowel(w[1]) && isVowel(w[0]);
}

/** Where the region after the first non-vowel following a vowel, from `from`, starts (`w.length` when none). */
function regionStart(w: string, from: number): number {
  let i = from;
  while (i < w.length && !isVowel(w[i])) i++;
  while (i < w.length && isVowel(w[i])) i++;
  return i < w.length ? i + 1 : w.length;
}

/**
 * Characters outside the Basic Multilingual Plane take two UTF-16 units but count as one letter ("hop" in the
 * algorithm counts characters): they are stood in for by one unused BMP character each while stemming.
 */
function withBmpStandIns(word: string, stem: (w: string) => string): string {
  const chars = Array.from(word);
  const used = new Set(chars);
  const standIn = new Map<string, string>();
  const back = new Map<string, string>();
  let next = 0xe000;
  const mapped = chars.map((c) => {
    if (c.length === 1) return c;
    let s = standIn.get(c);
    if (s === undefined) {
      while (used.has(String.fromCharCode(next))) next++;
      s = String.fromCharCode(next++);
      standIn.set(c, s);
      back.set(s, c);
    }
    return s;
  });
  return Array.from(stem(mapped.join("")), (c) => back.get(c) ?? c).join("");
}

/** The Snowball English stem of one lower-cased token. */
export function stemSnowballEnglish(word: string): string {
  if (/[\ud800-\udfff]/.test(word)) return withBmpStandIns(word, stemBmp);
  return stemBmp(word);
}

function stemBmp(word: string): string {
  const exception = EXCEPTIONS.get(word);
  if (exception !== undefined) return exception;
  if (word.length < 3) return word;

  // Prelude: a leading apostrophe goes; y at the start or after a vowel is a consonant (Y).
  let w = word.startsWith("'") ? word.slice(1) : word;
  let yFound = false;
  if (w.includes("y")) {
    let out = "";
    for (let i = 0; i < w.length; i++) {
      const c = w[i];
      if (c === "y" && (i === 0 || isVowel(out[i - 1]))) {
        out += "Y";
        yFound = true;
      } else out += c;
    }
    w = out;
  }

  let p1 = w.length;
  const prefix = R1_PREFIXES.find((p) => w.startsWith(p));
  if (prefix) p1 = prefix.length;
  else p1 = regionStart(w, 0);
  const p2 = p1 < w.length ? regionStart(w, p1) : w.length;

  // Step 1a: possessives, then plurals.
  for (const s of ["'s'", "'s", "'"]) {
    if (w.endsWith(s)) {
      w = w.slice(0, -s.length);
      break;
    }
  }
  if (w.endsWith("sses")) w = w.slice(0, -2);
  else if (w.endsWith("ied") || w.endsWith("ies")) w = w.slice(0, -3) + (w.length - 3 > 1 ? "i" : "ie");
  else if (w.endsWith("ss") || w.endsWith("us")) {
    // kept
  } else if (w.endsWith("s") && w.length >= 2 && hasVowelBefore(w, w.length - 2)) w = w.slice(0, -1);

  if (!AFTER_1A_INVARIANT.has(w)) {
    w = step1b(w, p1);
    // Step 1c: a final y after a non-vowel that is not the first letter becomes i.
    const last = w[w.length - 1];
    if ((last === "y" || last === "Y") && w.length > 2 && !isVowel(w[w.length - 2])) w = `${w.slice(0, -1)}i`;
    w = step2(w, p1);
    w = step3(w, p1, p2);
    w = step4(w, p2);
    w = step5(w, p1, p2);
  }
  return yFound ? w.replace(/Y/g, "y") : w;
}

function step1b(w: string, p1: number): string {
  const suffix = STEP1B.find((s) => w.endsWith(s));
  if (!suffix) return w;
  const start = w.length - suffix.length;
  if (suffix === "eed" || suffix === "eedly") return start >= p1 ? `${w.slice(0, start)}ee` : w;
  if (!hasVowelBefore(w, start)) return w;
  w = w.slice(0, start);
  const end = w.slice(-2);
  if (end === "at" || end === "bl" || end === "iz") return `${w}e`;
  if (end.length === 2 && end[0] === end[1] && "bdfgmnprt".includes(end[0])) return w.slice(0, -1);
  if (w.length === p1 && endsShortSyllable(w, w.length)) return `${w}e`;
  return w;
}

function step2(w: string, p1: number): string {
  const rule = STEP2.find(([s]) => w.endsWith(s));
  if (!rule) return w;
  const start = w.length - rule[0].length;
  if (start < p1) return w;
  if (rule[1] === "*og") return w[start - 1] === "l" ? `${w.slice(0, start)}og` : w;
  if (rule[1] === "*li") return isValidLi(w[start - 1]) ? w.slice(0, start) : w;
  return w.slice(0, start) + rule[1];
}

function step3(w: string, p1: number, p2: number): string {
  const rule = STEP3.find(([s]) => w.endsWith(s));
  if (!rule) return w;
  const start = w.length - rule[0].length;
  if (start < p1) return w;
  if (rule[1] === "*r2") return start >= p2 ? w.slice(0, start) : w;
  return w.slice(0, start) + rule[1];
}

function step4(w: string, p2: number): string {
  const suffix = STEP4.find((s) => w.endsWith(s));
  if (!suffix) return w;
  const start = w.length - suffix.length;
  if (start < p2) return w;
  if (suffix === "ion" && w[start - 1] !== "s" && w[start - 1] !== "t") return w;
  return w.slice(0, start);
}

function step5(w: string, p1: number, p2: number): string {
  const start = w.length - 1;
  if (w[start] === "e") {
    return start >= p2 || (start >= p1 && !endsShortSyllable(w, start)) ? w.slice(0, start) : w;
  }
  if (w[start] === "l") return start >= p2 && w[start - 1] === "l" ? w.slice(0, start) : w;
  return w;
}
