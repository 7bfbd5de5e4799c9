// The context-overflow policy (CONTEXT_OVERFLOW): makes a request's prompt plus max_tokens fit the tokens one request
// may use, by dropping the oldest non-system chat messages and lowering a max_tokens the client did not set, or
// refuses it with the limit named.
import type { ContextOverflowPolicy } from "../config/index.ts";
import type { ChatMessage } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";

export interface FitContextInput {
  policy: ContextOverflowPolicy;
  /** Tokens (prompt + generated) this request may use. */
  limit: number;
  /** Chat messages (kind chat); absent for a raw prompt, which is never cut. */
  messages?: ChatMessage[];
  /** Tokens the prompt takes as the engine will evaluate it (template and BOS included). */
  countTokens: (messages: ChatMessage[] | undefined) => number;
  /**
   * At most as many tokens as countTokens gives, known without tokenizing (characters / the longest token's): a
   * prompt whose bound already overflows is dropped from or refused without being tokenized, which for some long
   * texts takes minutes on the thread every request shares.
   */
  leastTokens?: (messages: ChatMessage[] | undefined) => number;
  maxTokens: number;
  /** The client chose maxTokens: it is never lowered (and a request that cannot keep it is refused). */
  maxTokensExplicit: boolean;
  /** Where the limit comes from, for the message (e.g. "CONTEXT_SIZE 4096"). */
  limitName: string;
}

/** What the policy did; reported in the response as `reflexia.context`. */
export interface ContextFit {
  /** Tokens this request may use. */
  limit: number;
  promptTokens: number;
  maxTokens: number;
  /** Oldest non-system messages dropped (truncate policy). */
  droppedMessages: number;
  /** max_tokens lowered from the default to what was left. */
  maxTokensLowered: boolean;
}

export function fitContext(input: FitContextInput): { messages?: ChatMessage[]; fit: ContextFit } {
  const { limit, policy } = input;
  let messages = input.messages;
  // The least a request needs besides its prompt: all of an explicit max_tokens, else one token.
  const need = () => (input.maxTokensExplicit ? input.maxTokens : 1);
  // The prompt's tokens, or only a bound that already overflows (atLeast): then it is not tokenized.
  let atLeast = false;
  const measure = (m: ChatMessage[] | undefined): number => {
    const least = input.leastTokens?.(m) ?? 0;
    atLeast = least + need() > limit;
    return atLeast ? least : input.countTokens(m);
  };
  let prompt = measure(messages);
  let dropped = 0;
  if (policy === "truncate" && messages) {
    // The last message (what is being answered) and system messages always stay.
    while (prompt + need() > limit) {
      const i = messages.findIndex((m, k) => m.role !== "system" && k < messages!.length - 1);
      if (i < 0) break;
      messages = messages.filter((_, k) => k !== i);
      dropped += 1;
      prompt = measure(messages);
    }
  }
  if (prompt + need() > limit) {
    const tokens = `${atLeast ? "at least " : ""}${prompt} tokens`;
    const what = input.maxTokensExplicit
      ? `a prompt of ${tokens} plus max_tokens ${input.maxTokens}`
      : `a prompt of ${tokens}`;
    throw new ReflexiaError(
      "RFX_CONTEXT_OVERFLOW",
      `the maximum context length of a request is ${limit} tokens (${input.limitName}; CONTEXT_OVERFLOW=${policy}), and ${what} does not fit the ${limit}-token context`,
      { promptTokens: prompt, maxTokens: input.maxTokens, contextSize: limit },
    );
  }
  const maxTokens = Math.min(input.maxTokens, limit - prompt);
  return {
    messages,
    fit: {
      limit,
      promptTokens: prompt,
      maxTokens,
      droppedMessages: dropped,
      maxTokensLowered: maxTokens < input.maxTokens,
    },
  };
}
