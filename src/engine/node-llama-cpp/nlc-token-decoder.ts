// Incremental detokenizer: turns a growing list of generated tokens into text without splitting UTF-8 characters.

/** Detokenizes `tokens`, using `lastTokens` (what precedes them) to get spacing right. */
export type DetokenizeFn = (tokens: readonly number[], lastTokens: readonly number[]) => string;

export interface TokenDecoder {
  /** Adds one token; returns the text it completes ("" while a multi-byte character is still partial). */
  push(token: number): string;
  /** Returns whatever is still held (a truncated character decodes to U+FFFD). */
  flush(): string;
}

const REPLACEMENT = "\uFFFD";
// A UTF-8 character spans at most 4 byte tokens; holding more would only delay genuinely invalid output.
const MAX_HELD_TOKENS = 4;
// Enough preceding tokens for the detokenizer's leading-space heuristics.
const CONTEXT_TOKENS = 8;

/**
 * Creates a decoder that starts after `precedingTokens` (the prompt). Byte-fallback tokens of a multi-byte character
 * decode to U+FFFD until the character is complete, so such tokens are held and decoded together.
 */
export function createTokenDecoder(detokenize: DetokenizeFn, precedingTokens: readonly number[] = []): TokenDecoder {
  let context = precedingTokens.slice(-CONTEXT_TOKENS);
  let pending: number[] = [];

  function release(): string {
    const text = detokenize(pending, context);
    context = [...context, ...pending].slice(-CONTEXT_TOKENS);
    pending = [];
    return text;
  }

  return {
    push(token: number): string {
      pending.push(token);
      const text = detokenize(pending, context);
      if (text.endsWith(REPLACEMENT) && pending.length < MAX_HELD_TOKENS) return "";
      context = [...context, ...pending].slice(-CONTEXT_TOKENS);
      pending = [];
      return text;
    },
    flush(): string {
      return pending.length > 0 ? release() : "";
    },
  };
}
