// Where an interactive chat's answers come from: the running server (its loaded model, over /api/chat) or a model
// loaded in this process (embedded). The session in chat-session.ts drives either the same way.
import type { ReflexiaClient } from "../client/index.ts";
import type { Config } from "../config/index.ts";
import type { ChatMessage, Engine, LoadedModel } from "../engine/types.ts";
import { ollamaShowBody } from "../http/routes/ollama/create-show.ts";
import type { ModelStore, ResolvedModel } from "../registry/index.ts";
import { samplingOfParameters } from "../services/apply-modelfile.ts";
import { answerWithModel, openLocalModel, resolveLocalModel } from "../services/run-local-generation.ts";
import { tokensPerSecond } from "./generate.ts";

export interface ChatTurnResult {
  text: string;
  cancelled: boolean;
  promptTokens: number;
  completionTokens: number;
  tokensPerSecond: number;
  ttftMs: number;
}

export interface ChatTurn {
  messages: ChatMessage[];
  /** Ollama option names (temperature, top_p, top_k, seed, num_predict, repeat_penalty, stop). */
  options: Record<string, unknown>;
  role?: string;
  rag?: boolean;
  signal: AbortSignal;
  onText(text: string): void;
}

export interface ChatBackend {
  /** `name:tag` (embedded) or the name as sent (server). */
  readonly model: string;
  /** "server http://…" or "embedded". */
  readonly via: string;
  chat(turn: ChatTurn): Promise<ChatTurnResult>;
  /** Lines for /show info. */
  info(): Promise<string[]>;
  switchModel(ref: string): Promise<void>;
  dispose(): Promise<void>;
}

type ShowBody = ReturnType<typeof ollamaShowBody>;

/** /show info's lines from POST /api/show's body, as `ollama run`'s /show info prints them, in either mode. */
function infoLines(s: ShowBody): string[] {
  const arch = String(s.model_info["general.architecture"] ?? s.details.family);
  return [
    `  Model`,
    `    architecture        ${arch}`,
    `    parameters          ${s.details.parameter_size}`,
    `    context length      ${String(s.model_info[`${arch}.context_length`] ?? "")}`,
    `    quantization        ${s.details.quantization_level}`,
    ...(s.system ? [`  System`, `    ${s.system}`] : []),
    ...(s.parameters ? [`  Parameters`, ...s.parameters.split("\n").map((l) => `    ${l}`)] : []),
  ];
}

export function createServerChatBackend(client: ReflexiaClient, model: string): ChatBackend {
  let current = model;
  return {
    get model() {
      return current;
    },
    via: `server ${client.baseUrl}`,
    async chat(turn) {
      let text = "";
      let first = 0;
      const t0 = performance.now();
      try {
        const final = await client.chatStream(
          { model: current, messages: turn.messages, role: turn.role, rag: turn.rag, options: turn.options },
          {
            signal: turn.signal,
            onText: (t, at) => {
              if (!first) first = at;
              text += t;
              turn.onText(t);
            },
          },
        );
        return {
          text,
          cancelled: false,
          promptTokens: final.prompt_eval_count,
          completionTokens: final.eval_count,
          tokensPerSecond: tokensPerSecond(final.eval_count, final.eval_duration / 1e6),
          ttftMs: first ? first - t0 : 0,
        };
      } catch (e) {
        if (turn.signal.aborted)
          return { text, cancelled: true, promptTokens: 0, completionTokens: 0, tokensPerSecond: 0, ttftMs: 0 };
        throw e;
      }
    },
    info: async () => infoLines(await client.call<ShowBody>("POST", "/api/show", { model: current })),
    async switchModel(ref) {
      await client.call("POST", "/api/show", { model: ref });
      current = ref;
    },
    async dispose() {},
  };
}

export async function createLocalChatBackend(
  deps: { engine: Engine; store: ModelStore; config: Config },
  ref: string | undefined,
): Promise<ChatBackend & { loadMs: number }> {
  let variant: ResolvedModel = await resolveLocalModel(deps.store, deps.config, ref);
  let opened = await openLocalModel(deps.engine, deps.config, variant.path);
  let model: LoadedModel = opened.model;
  return {
    get model() {
      return `${variant.name}:${variant.tag}`;
    },
    via: "embedded",
    loadMs: opened.loadMs,
    async chat(turn) {
      const r = await answerWithModel(
        model,
        variant.manifest.modelfile,
        { messages: turn.messages },
        { ...samplingOfParameters(turn.options), signal: turn.signal, onText: turn.onText },
        deps.config.models.default_max_tokens,
      );
      return {
        text: r.text,
        cancelled: r.finishReason === "cancelled",
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
        tokensPerSecond: tokensPerSecond(r.completionTokens, r.timings.evalMs),
        ttftMs: r.timings.ttftMs,
      };
    },
    async info() {
      // The server's /api/show body, built here (as `reflexia show` does embedded): /show info reads the same.
      const d = await deps.store.show(`${variant.name}:${variant.tag}`);
      return infoLines(
        ollamaShowBody(d, { verbose: false, engineFim: deps.config.engine.backend !== "node-llama-cpp" }),
      );
    },
    async switchModel(ref) {
      const next = await resolveLocalModel(deps.store, deps.config, ref);
      opened = await openLocalModel(deps.engine, deps.config, next.path);
      await model.dispose();
      model = opened.model;
      variant = next;
    },
    dispose: () => model.dispose(),
  };
}
