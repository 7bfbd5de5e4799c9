// The small SentencePiece (llama "SPM") vocabulary of synthetic models: specials, byte fallback, ▁, ordinary pieces.

/** llama.cpp token attribute types (enum llama_token_type). */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface SyntheticVocab {
  tokens: string[];
  scores: number[];
  types: number[];
  unkId: number;
  bosId: number;
  eosId: number;
}

const SPACE = "\u2581"; // SentencePiece's word-boundary marker ▁

const WORDS = (
  "the of and to in is that for it with as was on be at by this have from or an are not but what all were when we " +
  "there can your which their said if do will each about how up out them then she many some so these would other " +
  "into has more her two like him see time could no make than first been its who now people my made over did down " +
  "only way find use may water long little very after words called just where most know get through back much go " +
  "good new write our me man too any day same right look think also around another came come work three word must " +
  "because does part even place well such here take why things help put years different away again off went old " +
  "number great tell men say small every found still between name should home big give air line set own under read " +
  "last never us left end along while might next sound below saw something thought both few those always looked show " +
  "large often together asked house don world going want school important until form food keep children feet land " +
  "side without boy once animals life enough took sometimes four head above kind began almost live page got earth " +
  "need far hand high year mother light parts country father let night following picture being study second eyes " +
  "soon times story boys since white days ever paper hard near sentence better best across during today others " +
  "however sure means knew its try told young miles sun ways thing whole hear example heard several change answer " +
  "room sea against top turned learn point city play toward five using himself usually hello model data system " +
  "question language memory token context"
).split(" ");

// Ordinary pieces in a fixed order (earlier = higher score): whole words, letters, digits, punctuation, then
// letter pairs and triples with and without ▁, enough for a 32k vocabulary.
function* ordinaryPieces(): Generator<string> {
  for (const w of WORDS) yield SPACE + w;
  const lower = "abcdefghijklmnopqrstuvwxyz";
  const upper = lower.toUpperCase();
  const singles = lower + upper + "0123456789" + ".,;:!?'\"()[]{}-_/\\+*=<>@#$%&|~`^";
  for (const c of singles) yield c;
  for (const c of lower + upper + "0123456789") yield SPACE + c;
  for (const w of WORDS) yield w;
  for (const a of lower) for (const b of lower) yield a + b;
  for (const a of lower) for (const b of lower) yield SPACE + a + b;
  for (const a of upper) for (const b of lower) yield SPACE + a + b;
  for (const a of lower) for (const b of lower) for (const c of lower) yield a + b + c;
  for (const a of lower) for (const b of lower) for (const c of lower) yield SPACE + a + b + c;
  for (const a of lower) for (const b of lower) for (const c of lower) for (const d of lower) yield a + b + c + d;
}

/** A vocabulary of exactly `size` tokens (at least 262: 5 specials, 256 bytes, ▁). */
export function buildSyntheticVocab(size: number): SyntheticVocab {
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const add = (t: string, type: number, score = 0) => {
    tokens.push(t);
    types.push(type);
    scores.push(score);
  };
  add("<unk>", TOKEN_TYPE.UNKNOWN);
  add("<s>", TOKEN_TYPE.CONTROL);
  add("</s>", TOKEN_TYPE.CONTROL);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, TOKEN_TYPE.BYTE);
  // ChatML markers as control tokens so the embedded chat template tokenizes them as single specials.
  add("<|im_start|>", TOKEN_TYPE.CONTROL);
  add("<|im_end|>", TOKEN_TYPE.CONTROL);
  // Without ▁ llama.cpp cannot map a leading space and tokenize→detokenize stops round-tripping.
  add(SPACE, TOKEN_TYPE.NORMAL, -1);
  if (size < tokens.length) throw new RangeError(`vocabulary size ${size} is below the minimum ${tokens.length}`);
  const seen = new Set(tokens);
  for (const piece of ordinaryPieces()) {
    if (tokens.length >= size) break;
    if (seen.has(piece)) continue;
    seen.add(piece);
    add(piece, TOKEN_TYPE.NORMAL, -tokens.length);
  }
  if (tokens.length < size)
    throw new RangeError(`vocabulary size ${size} exceeds the ${tokens.length} synthetic pieces`);
  return { tokens, scores, types, unkId: 0, bosId: 1, eosId: 2 };
}
