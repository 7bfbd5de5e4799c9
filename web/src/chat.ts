// The chat view: streamed answers rendered as markdown, conversations kept in the browser (list, rename,
// delete), regenerate, retrieval with the sources under the answer, JSON mode when the server offers it, and
// what each reply cost (tokens, tok/s, time to first token), stopped replies included.
import type { ModelsBody, RagSourceInfo, ReflexiaMetaJson, RolesBody, StatusBody } from "../../src/client/index.ts";
import { api, apiJson, describeError } from "./api.ts";
import {
  createConversationStore,
  UNTITLED,
  type Conversation,
  type ReplyStats,
  type StoredMessage,
} from "./conversations.ts";
import { openDialog } from "./dialog.ts";
import { $, el, formatNumber, plural } from "./dom.ts";
import { copyButton, renderMarkdown } from "./markdown.ts";
import { readSseJson } from "./sse.ts";
import { onServerStatus } from "./state.ts";
import type { View } from "./main.ts";

const REASONS: Record<string, string> = {
  pinned: "variant named in the request",
  default: "configured default variant",
};

interface ChatView extends View {
  /** Reloads models and roles (the side panel's pickers). */
  refresh(): Promise<void>;
}

interface Rendered {
  node: HTMLElement;
  body: HTMLElement;
  extra: HTMLElement;
  meta: HTMLElement;
  actions: HTMLElement;
}

export function createChatView(): ChatView {
  const store = createConversationStore(localStorage);
  let conversation: Conversation = store.get(store.currentId() ?? "") ?? store.create();
  let models = new Map<string, string[]>();
  let roles: RolesBody["roles"] = [];
  let controller: AbortController | null = null;
  let features: StatusBody["features"] | null = null;

  // ---------- pickers: models, variants, roles, limits ----------

  function renderVariants(): void {
    const select = $<HTMLSelectElement>("variant");
    const previous = select.value;
    const tags = models.get($<HTMLSelectElement>("model").value) ?? [];
    select.replaceChildren(
      el("option", { value: "", text: "Adaptive (auto)" }),
      ...tags.map((t) => el("option", { value: t, text: t })),
    );
    if (tags.includes(previous)) select.value = previous;
  }

  async function loadModels(): Promise<void> {
    const body = await apiJson<ModelsBody>("/api/models");
    models = new Map(body.models.map((m) => [m.name, m.variants.map((v) => v.tag)]));
    const select = $<HTMLSelectElement>("model");
    const previous = select.value;
    select.replaceChildren(...[...models.keys()].sort().map((name) => el("option", { value: name, text: name })));
    if (previous && models.has(previous)) select.value = previous;
    renderVariants();
  }

  async function loadRoles(): Promise<void> {
    const body = await apiJson<RolesBody>("/api/roles");
    roles = body.roles;
    const select = $<HTMLSelectElement>("role");
    const previous = select.value;
    const groups = new Map<string, RolesBody["roles"]>();
    for (const r of roles) groups.set(r.category, [...(groups.get(r.category) ?? []), r]);
    select.replaceChildren(
      el("option", { value: "", text: "None" }),
      ...[...groups].map(([cat, list]) =>
        el("optgroup", { label: cat }, ...list.map((r) => el("option", { value: r.id, text: r.name }))),
      ),
    );
    if (roles.some((r) => r.id === previous)) select.value = previous;
  }

  /** The server's per-request limit bounds the max-tokens field (it refuses anything above). */
  function applyStatus(s: StatusBody): void {
    const input = $<HTMLInputElement>("max-tokens");
    const max = s.limits.max_tokens;
    input.max = String(max);
    if (Number(input.value) > max) input.value = String(max);
    $("max-tokens-hint").textContent =
      `Up to ${max} per request on this server (context ${s.limits.context_size} shared by ${s.limits.parallel} sequences).`;
    features = s.features;
    $("json-toggle-label").hidden = !s.features.json_mode;
    if (!s.features.json_mode) $<HTMLInputElement>("json-toggle").checked = false;
    const rag = $<HTMLInputElement>("rag-toggle");
    rag.disabled = !s.features.rag;
    rag.parentElement!.title = s.features.rag
      ? "Answer from your uploaded documents and list the sources"
      : "This server has no document store";
  }

  // ---------- conversations ----------

  function renderConversationList(): void {
    const list = store.list();
    const items = list.map((c) => {
      const open = el("button", {
        type: "button",
        class: "conv-open",
        text: c.title || UNTITLED,
        "aria-current": c.id === conversation.id ? "true" : undefined,
      });
      open.addEventListener("click", () => openConversation(c.id));
      const rename = el("button", {
        type: "button",
        class: "btn btn-quiet btn-small",
        text: "Rename",
        "aria-label": `Rename ${c.title || UNTITLED}`,
      });
      rename.addEventListener("click", () => void renameConversation(c));
      const del = el("button", {
        type: "button",
        class: "btn btn-quiet btn-small",
        text: "Delete",
        "aria-label": `Delete ${c.title || UNTITLED}`,
      });
      del.addEventListener("click", () => void deleteConversation(c));
      return el(
        "li",
        { class: c.id === conversation.id ? "current" : undefined },
        open,
        el("span", { class: "conv-actions" }, rename, del),
      );
    });
    $("conversations").replaceChildren(
      ...(items.length
        ? items
        : [el("li", { class: "hint", text: "Nothing yet: your chats are kept in this browser." })]),
    );
    $("chat-title").textContent = conversation.title || UNTITLED;
  }

  function openConversation(id: string | null): void {
    controller?.abort();
    conversation = (id ? store.get(id) : undefined) ?? store.create();
    store.setCurrent(conversation.messages.length ? conversation.id : null);
    renderConversation();
    renderConversationList();
    $("prompt").focus();
  }

  async function renameConversation(c: Conversation): Promise<void> {
    const input = el("input", {
      type: "text",
      id: "rename-input",
      value: c.title,
      "aria-label": "New name",
      class: "wide",
    });
    const ok = await openDialogWithInput("Rename conversation", input);
    if (!ok) return;
    store.rename(c.id, input.value);
    if (c.id === conversation.id) conversation.title = store.get(c.id)?.title ?? conversation.title;
    renderConversationList();
  }

  async function openDialogWithInput(title: string, input: HTMLInputElement): Promise<boolean> {
    const done = openDialog({ title, content: el("div", { class: "field" }, input), confirm: "Save" });
    input.focus();
    input.select();
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        $<HTMLButtonElement>("dialog-ok").click();
      }
    });
    return done;
  }

  async function deleteConversation(c: Conversation): Promise<void> {
    if (
      !(await openDialog({
        title: "Delete conversation",
        content: `Delete “${c.title || UNTITLED}”? This cannot be undone.`,
        confirm: "Delete",
        danger: true,
      }))
    )
      return;
    store.remove(c.id);
    if (c.id === conversation.id) openConversation(null);
    else renderConversationList();
  }

  function persist(): void {
    if (conversation.messages.length === 0) return;
    store.save(conversation);
    store.setCurrent(conversation.id);
    renderConversationList();
  }

  // ---------- rendering ----------

  const scroller = () => $("chat-scroll");
  function scrollToEnd(): void {
    scroller().scrollTop = scroller().scrollHeight;
  }

  function renderConversation(): void {
    $("messages").replaceChildren();
    for (let i = 0; i < conversation.messages.length; i++) renderStored(conversation.messages[i], i);
    $("empty").hidden = conversation.messages.length > 0;
    scrollToEnd();
  }

  function shell(role: "user" | "assistant"): Rendered {
    $("empty").hidden = true;
    const body = el("div", { class: role === "assistant" ? "msg-body markdown" : "msg-body" });
    const extra = el("div", { class: "msg-extra" });
    const meta = el("div", { class: "msg-meta" });
    const actions = el("div", { class: "msg-actions" });
    const node = el(
      "article",
      { class: `msg msg-${role}`, "aria-label": role === "user" ? "You" : "Reflexia" },
      body,
      extra,
      meta,
      actions,
    );
    $("messages").append(node);
    return { node, body, extra, meta, actions };
  }

  function renderStored(m: StoredMessage, index: number): Rendered {
    const r = shell(m.role);
    if (m.role === "user") {
      r.body.textContent = m.content;
      return r;
    }
    finishRender(r, m, index);
    return r;
  }

  /** A JSON-mode answer shows as a JSON code block (verbatim), anything else as Markdown. */
  function displayText(m: StoredMessage): string {
    if (!m.json) return m.content;
    // The fence is longer than any backtick run inside, so the JSON cannot close it.
    const longest = Math.max(2, ...(m.content.match(/`+/g) ?? []).map((x) => x.length));
    const fence = "`".repeat(longest + 1);
    return `${fence}json\n${m.content}\n${fence}`;
  }

  /** Fills a finished assistant message: body, tool calls, sources, badge, stats and actions. */
  function finishRender(r: Rendered, m: StoredMessage, index: number): void {
    r.node.classList.toggle("msg-error", Boolean(m.error));
    r.node.classList.toggle("msg-stopped", Boolean(m.stopped));
    if (m.content) renderMarkdown(r.body, displayText(m));
    else r.body.replaceChildren();
    if (m.stopped)
      r.body.append(
        el("p", { class: "stopped-note", text: m.content ? "— stopped" : "Stopped before the first token." }),
      );
    if (m.error) r.body.append(el("p", { class: "error-text", text: m.error }));
    if (!m.content && !m.stopped && !m.error && !m.toolCalls?.length)
      r.body.append(el("p", { class: "hint", text: "(empty response)" }));
    r.extra.replaceChildren(...toolCallsOf(m), ...sourcesOf(m.meta?.sources));
    renderBadge(r.meta, m);
    const actions: HTMLElement[] = [];
    if (m.content) actions.push(copyButton("Copy this answer", () => m.content));
    if (index === conversation.messages.length - 1) {
      const regen = el("button", {
        type: "button",
        class: "btn btn-quiet btn-small",
        text: "Regenerate",
        "aria-label": "Regenerate this answer",
      });
      regen.addEventListener("click", () => void regenerate());
      actions.push(regen);
    }
    r.actions.replaceChildren(...actions);
  }

  function toolCallsOf(m: StoredMessage): HTMLElement[] {
    if (!m.toolCalls?.length) return [];
    return [
      el(
        "div",
        { class: "tool-calls", role: "group", "aria-label": "Tool calls" },
        ...m.toolCalls.map((t) =>
          el(
            "div",
            { class: "tool-call" },
            el("span", { class: "chip chip-tool", text: `tool: ${t.name}` }),
            el("pre", { tabindex: "0" }, el("code", { text: t.arguments })),
          ),
        ),
      ),
    ];
  }

  function sourcesOf(sources: RagSourceInfo[] | undefined): HTMLElement[] {
    if (!sources?.length) return [];
    return [
      el(
        "section",
        { class: "sources", "aria-label": "Sources" },
        el("h3", { class: "sources-title", text: "Sources" }),
        el(
          "ol",
          { class: "source-list" },
          ...sources.map((s) =>
            el(
              "li",
              { class: "source" },
              el(
                "details",
                {},
                el(
                  "summary",
                  {},
                  el("span", { class: "source-n", text: `[${s.n}]` }),
                  el("span", { class: "source-title", text: s.title || s.source || s.document_id }),
                  el("span", { class: "hint", text: `chunk ${s.chunk_index + 1} · score ${s.score.toFixed(3)}` }),
                ),
                el("blockquote", { class: "source-text", text: s.text + (s.truncated ? " …" : "") }),
              ),
            ),
          ),
        ),
      ),
    ];
  }

  function renderBadge(meta: HTMLElement, m: StoredMessage): void {
    const info = m.meta;
    const parts: HTMLElement[] = [];
    if (info?.variant)
      parts.push(
        el("span", { class: "chip chip-variant", title: "Variant that served this answer", text: info.variant }),
      );
    if (info?.quantization)
      parts.push(el("span", { class: "chip chip-quant", title: "Quantization", text: info.quantization }));
    const c = info?.complexity;
    if (c && typeof c.score === "number")
      parts.push(
        el("span", {
          class: "chip",
          title: "Prompt complexity (level and score 0–1)",
          text: `complexity ${c.level} ${c.score.toFixed(2)}`,
        }),
      );
    if (info?.role) {
      const role = roles.find((r) => r.id === info.role);
      parts.push(el("span", { class: "chip", title: "Expert role", text: `role: ${role?.name ?? info.role}` }));
    }
    if (info?.cache === "hit")
      parts.push(el("span", { class: "chip chip-cache", title: "Served from the response cache", text: "cached" }));
    if (m.rag)
      parts.push(
        el("span", {
          class: "chip chip-rag",
          title: "Answered from your documents",
          text: info?.sources ? `documents: ${plural(info.sources.length, "source")}` : "documents",
        }),
      );
    if (m.json)
      parts.push(
        el("span", { class: "chip chip-json", title: "The request asked for JSON output", text: "JSON mode" }),
      );
    if (m.toolCalls?.length)
      parts.push(
        el("span", {
          class: "chip chip-tool",
          title: "The model called tools",
          text: plural(m.toolCalls.length, "tool call"),
        }),
      );
    if (info && info.load_ms > 0)
      parts.push(
        el("span", {
          class: "chip",
          title: "Time this request waited for the variant to load",
          text: `loaded in ${Math.round(info.load_ms)} ms`,
        }),
      );
    if (info && info.queue_ms >= 1)
      parts.push(
        el("span", {
          class: "chip",
          title: "Time waiting for a free sequence",
          text: `queued ${Math.round(info.queue_ms)} ms`,
        }),
      );
    const s = m.stats;
    if (s) {
      const approx = s.counted === "stream" ? "≈" : "";
      parts.push(
        el(
          "span",
          {
            class: "chip chip-stats",
            title:
              s.counted === "stream"
                ? "Counted from the streamed pieces (the server sent no usage)"
                : "Tokens the server generated",
          },
          `${approx}${plural(s.tokens, "token")}${s.tokensPerSecond ? ` · ${formatNumber(s.tokensPerSecond)} tok/s` : ""}`,
        ),
      );
      if (s.ttftMs !== undefined)
        parts.push(
          el("span", {
            class: "chip",
            title: "Time to first token, as this page measured it",
            text: `TTFT ${Math.round(s.ttftMs)} ms`,
          }),
        );
      parts.push(
        el("span", {
          class: "chip",
          title: "Whole reply, as this page measured it",
          text: `${(s.durationMs / 1000).toFixed(1)} s`,
        }),
      );
    }
    const children: HTMLElement[] = [];
    if (parts.length)
      children.push(
        el("div", { class: "badge", role: "group", "aria-label": "How this answer was produced" }, ...parts),
      );
    if (info?.reason)
      children.push(
        el(
          "p",
          { class: "reason" },
          "Why: ",
          el("code", { text: info.reason }),
          REASONS[info.reason] ? ` — ${REASONS[info.reason]}` : info.detail ? ` — ${info.detail}` : "",
        ),
      );
    meta.replaceChildren(...children);
  }

  // ---------- sending ----------

  function setBusy(busy: boolean): void {
    $<HTMLButtonElement>("send").disabled = busy;
    $("stop").hidden = !busy;
    $("prompt").setAttribute("aria-busy", busy ? "true" : "false");
    if (busy) $("messages").setAttribute("aria-busy", "true");
    else $("messages").removeAttribute("aria-busy");
  }

  /** The history the model sees: user turns and finished answers (failed or empty replies are left out). */
  function historyForRequest(): { role: "user" | "assistant"; content: string }[] {
    return conversation.messages
      .filter((m) => m.role === "user" || (m.content && !m.error))
      .map((m) => ({ role: m.role, content: m.content }));
  }

  async function reply(): Promise<void> {
    const index = conversation.messages.length;
    const rag = $<HTMLInputElement>("rag-toggle").checked && !$<HTMLInputElement>("rag-toggle").disabled;
    const json = Boolean(features?.json_mode) && $<HTMLInputElement>("json-toggle").checked;
    const message: StoredMessage = { role: "assistant", content: "", rag: rag || undefined, json: json || undefined };
    const r = shell("assistant");
    r.node.classList.add("streaming");
    r.body.append(el("span", { class: "typing", "aria-hidden": "true" }));
    setBusy(true);
    scrollToEnd();

    controller = new AbortController();
    const model = $<HTMLSelectElement>("model").value;
    const variant = $<HTMLSelectElement>("variant").value;
    const body: Record<string, unknown> = {
      model: variant ? `${model}:${variant}` : model || undefined,
      messages: historyForRequest(),
      stream: true,
      stream_options: { include_usage: true },
      temperature: Number($<HTMLInputElement>("temperature").value),
      max_tokens: Number($<HTMLInputElement>("max-tokens").value),
    };
    // Reflexia's extension fields: the role's system prompt is prepended; `rag` retrieves and cites sources.
    if ($<HTMLSelectElement>("role").value) body.role = $<HTMLSelectElement>("role").value;
    if (rag) body.rag = true;
    if (json) body.response_format = { type: "json_object" };

    const started = performance.now();
    let firstAt = 0;
    let lastAt = 0;
    let pieces = 0;
    let usageTokens: number | undefined;
    let serverRate: number | undefined;
    let finishReason: string | undefined;
    const toolCalls: { id?: string; name: string; arguments: string }[] = [];
    let frame = 0;
    const paint = (): void => {
      frame = 0;
      renderMarkdown(r.body, displayText(message));
      scrollToEnd();
    };
    try {
      const res = await api("/v1/chat/completions", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      await readSseJson(res, (chunk) => {
        if (chunk.reflexia) message.meta = chunk.reflexia as ReflexiaMetaJson;
        if (chunk.usage) usageTokens = chunk.usage.completion_tokens;
        // The engine's own generation rate (llama-server's timings): a stream read in one go has no pace to time.
        if (typeof chunk.timings?.predicted_per_second === "number") serverRate = chunk.timings.predicted_per_second;
        const choice = chunk.choices?.[0];
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        for (const t of choice?.delta?.tool_calls ?? []) {
          const i = typeof t.index === "number" ? t.index : toolCalls.length;
          toolCalls[i] ??= { id: t.id, name: "", arguments: "" };
          if (t.function?.name) toolCalls[i].name += t.function.name;
          if (t.function?.arguments) toolCalls[i].arguments += t.function.arguments;
        }
        const delta = choice?.delta?.content;
        if (delta) {
          if (!firstAt) firstAt = performance.now();
          lastAt = performance.now();
          pieces++;
          message.content += delta;
          frame ||= requestAnimationFrame(paint);
        }
      });
    } catch (err) {
      if ((err as Error).name === "AbortError") message.stopped = true;
      else message.error = describeError(err);
    } finally {
      if (frame) cancelAnimationFrame(frame);
      controller = null;
      const end = performance.now();
      if (toolCalls.length) message.toolCalls = toolCalls.filter(Boolean);
      if (firstAt || usageTokens !== undefined) {
        const tokens = usageTokens ?? pieces;
        const decodeSecs = (lastAt - firstAt) / 1000;
        const stats: ReplyStats = {
          tokens,
          counted: usageTokens !== undefined ? "usage" : "stream",
          ttftMs: firstAt ? firstAt - started : undefined,
          tokensPerSecond: serverRate ?? (tokens > 1 && decodeSecs > 0 ? (tokens - 1) / decodeSecs : undefined),
          durationMs: end - started,
          finishReason,
        };
        message.stats = stats;
      }
      conversation.messages.push(message);
      r.node.classList.remove("streaming");
      finishRender(r, message, index);
      // Only the newest answer offers Regenerate.
      const previous = $("messages").querySelectorAll(".msg-assistant");
      for (const n of [...previous].slice(0, -1))
        n.querySelector(".msg-actions button[aria-label='Regenerate this answer']")?.remove();
      persist();
      setBusy(false);
      scrollToEnd();
    }
  }

  async function send(text: string): Promise<void> {
    conversation.messages.push({ role: "user", content: text });
    shell("user").body.textContent = text;
    persist();
    await reply();
  }

  async function regenerate(): Promise<void> {
    if (controller) return;
    const last = conversation.messages.at(-1);
    if (!last || last.role !== "assistant") return;
    conversation.messages.pop();
    $("messages").lastElementChild?.remove();
    await reply();
  }

  function initComposer(): void {
    const prompt = $<HTMLTextAreaElement>("prompt");
    const autoGrow = (): void => {
      prompt.style.height = "auto";
      prompt.style.height = `${Math.min(prompt.scrollHeight, 200)}px`;
    };
    const submit = (): void => {
      const text = prompt.value.trim();
      if (!text || controller) return;
      prompt.value = "";
      autoGrow();
      void send(text);
    };
    prompt.addEventListener("input", autoGrow);
    prompt.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      }
    });
    $("composer").addEventListener("submit", (e) => {
      e.preventDefault();
      submit();
    });
    $("stop").addEventListener("click", () => controller?.abort());
    $("new-chat").addEventListener("click", () => openConversation(null));
    $("model").addEventListener("change", renderVariants);
  }

  initComposer();
  onServerStatus(applyStatus);
  renderConversation();
  renderConversationList();

  return {
    show() {
      // Nothing to reload: the pickers follow refresh(), the conversation lives in the page.
    },
    hide() {},
    async refresh() {
      const results = await Promise.allSettled([loadModels(), loadRoles()]);
      const failed = results.find((x) => x.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    },
  };
}
