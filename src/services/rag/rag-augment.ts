// Retrieval-augmented generation for chat/generate requests: retrieve for the question, fingerprint what was
// retrieved (for the response-cache key), and rewrite the prompt to quote the sources within the free context.
import { createHash } from "node:crypto";
import type { ChatMessage } from "../../engine/types.ts";
import { ReflexiaError } from "../../errors/index.ts";
import { buildRagPrompt, createModelTokenizer, type RagQueryResult, type RagService } from "../../rag/index.ts";

/** What a request asks of RAG (`rag: true` or `rag: {top_k, hybrid}`). */
export interface RagRequestOptions {
  /** Defaults to rag.similarity_top_k. */
  topK?: number;
  /** Defaults to rag.hybrid. */
  hybrid?: boolean;
}

/** A cited source as clients see it (`reflexia.sources`): `n` is its [n] marker in the prompt. */
export interface RagSourceInfo {
  n: number;
  document_id: string;
  title: string;
  source: string;
  chunk_index: number;
  score: number;
  /** Exactly the quoted text: the document's extracted text sliced at [start, end). */
  text: string;
  start: number;
  end: number;
  /** Only a prefix of the chunk fitted the context window. */
  truncated: boolean;
}

/** How the retrieval went (`reflexia.rag`). */
export interface RagAnswerInfo {
  mode: "vector" | "hybrid";
  top_k: number;
  /** Chunks retrieved; `sources` may hold fewer when the context window could not fit them all. */
  retrieved: number;
  retrieval_ms: number;
  /** Tokens of the sources and instructions added to the prompt (by the model's tokenizer). */
  context_tokens: number;
}

/** The parts of a loaded model that prompt assembly needs: its tokenizer and chat template. */
export interface RagPromptModel {
  tokenize(text: string): number[];
  formatChat(messages: ChatMessage[]): string;
}

export interface RagApplyOptions {
  /** Tokens of the sequence's context window. */
  contextTokens: number;
  /** Tokens reserved for the answer. */
  maxTokens: number;
}

export interface RagApplied {
  messages?: ChatMessage[];
  prompt?: string;
  sources: RagSourceInfo[];
  info: RagAnswerInfo;
}

/** One request's retrieval, done before the cache lookup; `apply` runs once a model (tokenizer) is at hand. */
export interface RagTurn {
  /** Changes whenever the retrieved chunks change (new, replaced or deleted documents). */
  fingerprint: string;
  apply(
    input: { kind: "chat" | "completion"; messages?: ChatMessage[]; prompt?: string },
    model: RagPromptModel,
    options: RagApplyOptions,
  ): RagApplied;
}

export interface RagAugmenter {
  /** Retrieves for the last user message (chat) or the prompt (completion). */
  begin(request: {
    kind: "chat" | "completion";
    messages?: ChatMessage[];
    prompt?: string;
    rag: RagRequestOptions;
  }): Promise<RagTurn>;
}

export interface RagAugmenterOptions {
  service: RagService;
  /** Replaces the default instruction paragraph of the cited prompt. */
  instructions?: string;
}

/** Tokens kept free for what the budget arithmetic cannot see exactly (BOS, template joins). */
const SAFETY_TOKENS = 16;

function questionOf(req: { kind: "chat" | "completion"; messages?: ChatMessage[]; prompt?: string }): string {
  if (req.kind === "completion") return req.prompt ?? "";
  const last = [...(req.messages ?? [])].reverse().find((m) => m.role === "user");
  if (!last) throw new ReflexiaError("RFX_VALIDATION", "rag needs a user message to retrieve for");
  return last.content;
}

/** Adds the RAG context to the first system message (chat templates expect at most one, first). */
function withContext(messages: ChatMessage[], context: string): ChatMessage[] {
  if (messages[0]?.role === "system")
    return [{ role: "system", content: `${messages[0].content}\n\n${context}` }, ...messages.slice(1)];
  return [{ role: "system", content: context }, ...messages];
}

export function createRagAugmenter(options: RagAugmenterOptions): RagAugmenter {
  const { service } = options;
  // The service's default top-k never changes; read it once (stats() also inspects the store's indexes).
  let defaultTopK: number | undefined;
  return {
    async begin(request) {
      const question = questionOf(request);
      const r: RagQueryResult = await service.query(question, { topK: request.rag.topK, hybrid: request.rag.hybrid });
      const topK = request.rag.topK ?? (defaultTopK ??= (await service.stats()).topK);
      const fingerprint = createHash("sha256")
        .update(
          JSON.stringify([
            r.mode,
            topK,
            options.instructions ?? null,
            r.results.map((x) => [x.chunkId, x.start, x.end, x.text]),
          ]),
        )
        .digest("hex");
      return {
        fingerprint,
        apply(input, model, { contextTokens, maxTokens }) {
          const tokenizer = createModelTokenizer(model);
          const count = (s: string) => tokenizer.count(s);
          const free = contextTokens - maxTokens - SAFETY_TOKENS;
          // What the request costs without sources: the rendered conversation (chat) or the role prefix (completion).
          const base =
            input.kind === "chat"
              ? count(model.formatChat(input.messages ?? []))
              : count(input.prompt ?? "") - count(question);
          // buildRagPrompt budgets instructions + sources + question tail; for chat the question is already in `base`.
          const empty = buildRagPrompt(question, [], {
            tokenizer,
            instructions: options.instructions,
            maxContextTokens: Number.MAX_SAFE_INTEGER,
          });
          const overhead = input.kind === "chat" ? count(empty.context) : empty.tokens;
          let room = free - base - overhead;
          for (let attempt = 0; ; attempt++) {
            if (room < 0) {
              throw new ReflexiaError(
                "RFX_CONTEXT_OVERFLOW",
                `the request leaves no room for RAG sources in the ${contextTokens}-token context (max_tokens ${maxTokens})`,
                {
                  contextTokens,
                  maxTokens,
                },
              );
            }
            const built = buildRagPrompt(question, r.results, {
              tokenizer,
              instructions: options.instructions,
              maxContextTokens: empty.tokens + room,
            });
            let messages: ChatMessage[] | undefined;
            let prompt: string | undefined;
            let used: number;
            if (input.kind === "chat") {
              messages = withContext(input.messages ?? [], built.context);
              used = count(model.formatChat(messages));
            } else {
              const prefix = (input.prompt ?? "").slice(0, Math.max(0, (input.prompt ?? "").length - question.length));
              prompt = prefix + built.prompt;
              used = count(prompt);
            }
            // Templates and merges can cost a few tokens the arithmetic missed: shrink the room and rebuild.
            if (used > contextTokens - maxTokens - 1 && attempt < 3) {
              room -= used - (contextTokens - maxTokens - 1) + SAFETY_TOKENS;
              continue;
            }
            return {
              messages,
              prompt,
              sources: built.sources.map((s) => ({
                n: s.n,
                document_id: s.documentId,
                title: s.title,
                source: s.source,
                chunk_index: s.chunkIndex,
                score: Math.round(s.score * 1e6) / 1e6,
                text: s.text,
                start: s.start,
                end: s.end,
                truncated: s.truncated,
              })),
              info: {
                mode: r.mode,
                top_k: topK,
                retrieved: r.results.length,
                retrieval_ms: Math.round(r.timings.totalMs * 100) / 100,
                context_tokens: count(built.context),
              },
            };
          }
        },
      };
    },
  };
}
