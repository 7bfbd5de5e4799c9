// The Reflexia web UI: streamed chat, model/variant/role selection, live status and document management.
import { readSseJson } from "./sse.js";

const KEY_STORAGE = "reflexia.apiKey";
const STATUS_POLL_MS = 5000;

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
};

const state = {
  apiKey: localStorage.getItem(KEY_STORAGE) ?? "",
  /** @type {{role: string, content: string}[]} */
  history: [],
  /** Model name → its tags (quantizations), from /api/tags or /v1/models. */
  models: new Map(),
  roles: [],
  controller: null,
};

// ---------- HTTP ----------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  if (state.apiKey) h.Authorization = `Bearer ${state.apiKey}`;
  return h;
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: headers(options.headers) });
  if (!res.ok) throw await toApiError(res);
  return res;
}

async function apiJson(path, options) {
  return (await api(path, options)).json();
}

async function toApiError(res) {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (body?.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    }
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(res.status, code, message);
}

function describeError(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return "The server requires an API key: enter it at the top and press Save.";
    return `${err.message} (${err.code})`;
  }
  return err?.message ?? String(err);
}

// ---------- formatting ----------

function formatBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}

// ---------- connection / API key ----------

function setConn(kind, text) {
  const conn = $("conn");
  conn.dataset.state = kind;
  conn.querySelector(".conn-text").textContent = text;
}

function initKeyForm() {
  $("api-key").value = state.apiKey;
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.apiKey = $("api-key").value.trim();
    if (state.apiKey) localStorage.setItem(KEY_STORAGE, state.apiKey);
    else localStorage.removeItem(KEY_STORAGE);
    refreshAll();
  });
}

// ---------- models and roles ----------

async function loadModels() {
  const models = new Map();
  try {
    const tags = await apiJson("/api/tags");
    for (const m of tags.models ?? []) {
      const [name, tag] = String(m.name ?? m.model).split(":");
      if (!models.has(name)) models.set(name, new Set());
      if (tag) models.get(name).add(tag);
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    // Fall back to the OpenAI list, whose ids may or may not carry a tag.
    const list = await apiJson("/v1/models");
    for (const m of list.data ?? []) {
      const [name, tag] = String(m.id).split(":");
      if (!models.has(name)) models.set(name, new Set());
      if (tag) models.get(name).add(tag);
    }
  }
  state.models = models;
  const select = $("model");
  const previous = select.value;
  select.replaceChildren(...[...models.keys()].sort().map((name) => el("option", { value: name, text: name })));
  if (previous && models.has(previous)) select.value = previous;
  renderVariants();
}

function renderVariants() {
  const select = $("variant");
  const previous = select.value;
  const tags = [...(state.models.get($("model").value) ?? [])].sort();
  select.replaceChildren(
    el("option", { value: "", text: "Adaptive (auto)" }),
    ...tags.map((t) => el("option", { value: t, text: t })),
  );
  if (tags.includes(previous)) select.value = previous;
}

async function loadRoles() {
  const body = await apiJson("/api/roles");
  const roles = Array.isArray(body) ? body : body.roles ?? body.data ?? [];
  state.roles = roles;
  const select = $("role");
  const previous = select.value;
  const groups = new Map();
  for (const r of roles) {
    const cat = r.category ?? "other";
    if (!groups.has(cat)) groups.set(cat, []);
    groups.get(cat).push(r);
  }
  select.replaceChildren(
    el("option", { value: "", text: "None" }),
    ...[...groups].map(([cat, list]) =>
      el("optgroup", { label: cat }, ...list.map((r) => el("option", { value: r.id, text: r.name ?? r.id }))),
    ),
  );
  if (roles.some((r) => r.id === previous)) select.value = previous;
}

// ---------- status ----------

async function pollStatus() {
  try {
    const s = await apiJson("/api/status");
    renderStatus(s);
    setConn("ok", "Connected");
  } catch (err) {
    setConn(err instanceof ApiError && err.status === 401 ? "warn" : "error", err instanceof ApiError && err.status === 401 ? "API key needed" : "Unreachable");
  }
}

function renderStatus(s) {
  const q = s.queue ?? {};
  const mem = s.memory;
  const cache = s.cache;
  const rows = [
    ["State", s.draining ? "draining" : s.ready === false ? `starting${s.ready_reason ? ` (${s.ready_reason})` : ""}` : "ready"],
    ["Running", q.running !== undefined ? `${q.running} of ${q.parallel ?? "?"} per variant` : undefined],
    ["Queued", q.queued !== undefined ? `${q.queued} / ${q.queue_size ?? "?"}` : undefined],
    ["Active sequences", s.active_sequences],
    ["Memory", mem ? `${formatBytes(mem.used_bytes)} (${Number(mem.percent).toFixed(1)}%)` : undefined],
    ["Budget", mem ? `${formatBytes(mem.budget_bytes)} · ${Math.round((mem.pressure ?? 0) * 100)}% used` : undefined],
    ["Compute", s.gpu ? (s.gpu.backend === "cpu" ? "CPU" : `${s.gpu.backend.toUpperCase()} · ${(s.gpu.devices ?? []).map((d) => `${d.description} ${formatBytes(d.free_bytes)} free`).join(", ")}`) : undefined],
    ["Cache", cache?.enabled ? `${cache.hits} hits · ${cache.misses} misses · ${cache.size} entries` : cache ? "off" : undefined],
    ["Documents", s.rag?.documents ?? undefined],
    ["Adaptive", s.adaptive_quantization === undefined ? undefined : s.adaptive_quantization ? "on" : "off"],
  ];
  $("status").replaceChildren(
    ...rows.filter(([, v]) => v !== undefined && v !== null).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]),
  );
  const loaded = s.loaded ?? [];
  const loading = (s.loading ?? []).map((key) => el("li", {}, el("span", { class: "variant-name", text: key }), el("span", { class: "hint", text: "loading…" })));
  $("variants").replaceChildren(
    ...loaded.map((v) =>
      el(
        "li",
        {},
        el("span", { class: "variant-name", text: v.variant ?? `${v.name}:${v.tag}` }),
        el("span", { class: "hint", text: `${v.embedding ? "embeddings" : `${v.running ?? 0} running · ${v.queued ?? 0} queued`}${v.gpu_layers ? ` · ${v.gpu_layers}/${v.total_layers} layers on GPU` : ""}` }),
      ),
    ),
    ...loading,
  );
  if (!loaded.length && !loading.length) $("variants").append(el("li", { class: "hint", text: "None loaded yet" }));
  $("status-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

// ---------- documents ----------

/** Chunk count in whichever shape the documents API reports it (camelCase, snake_case or the chunks themselves). */
function chunkCountOf(d) {
  if (!d || typeof d !== "object") return undefined;
  const c = d.chunk_count ?? d.chunkCount ?? d.chunks;
  if (Array.isArray(c)) return c.length;
  if (typeof c === "number") return c;
  return d.document ? chunkCountOf(d.document) : undefined;
}

async function loadDocuments() {
  const msg = $("docs-msg");
  try {
    const body = await apiJson("/api/documents");
    const docs = Array.isArray(body) ? body : body.documents ?? body.data ?? [];
    $("docs").replaceChildren(
      ...(docs.length
        ? docs.map((d) => {
            const name = d.title ?? d.name ?? d.filename ?? d.source ?? d.id;
            const del = el("button", { type: "button", class: "btn btn-quiet btn-small", "aria-label": `Delete ${name}`, text: "Delete" });
            del.addEventListener("click", () => deleteDocument(d.id, name));
            const chunks = chunkCountOf(d);
            return el("li", {}, el("span", { class: "doc-name", text: name }), chunks !== undefined ? el("span", { class: "hint", text: `${chunks} chunks` }) : null, del);
          })
        : [el("li", { class: "hint", text: "No documents yet" })]),
    );
    if (msg.dataset.sticky !== "1") msg.textContent = "";
  } catch (err) {
    $("docs").replaceChildren();
    msg.textContent = err instanceof ApiError && err.status === 404 ? "Document storage is not available on this server." : describeError(err);
  }
}

async function deleteDocument(id, name) {
  if (!confirm(`Delete “${name}” and its chunks?`)) return;
  try {
    await api(`/api/documents/${encodeURIComponent(id)}`, { method: "DELETE" });
    announceDocs(`Deleted ${name}.`);
  } catch (err) {
    announceDocs(describeError(err));
  }
  loadDocuments();
}

function announceDocs(text) {
  const msg = $("docs-msg");
  msg.textContent = text;
  msg.dataset.sticky = "1";
  setTimeout(() => (msg.dataset.sticky = ""), 4000);
}

function initUpload() {
  $("upload-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("doc-file").files?.[0];
    if (!file) return announceDocs("Choose a file first.");
    const form = new FormData();
    form.append("file", file, file.name);
    announceDocs(`Uploading ${file.name}…`);
    try {
      const body = await apiJson("/api/upload", { method: "POST", body: form });
      const chunks = chunkCountOf(body);
      announceDocs(`Added ${file.name}${chunks !== undefined ? ` (${chunks} chunks)` : ""}.`);
      $("doc-file").value = "";
    } catch (err) {
      announceDocs(describeError(err));
    }
    loadDocuments();
  });
  $("docs-refresh").addEventListener("click", loadDocuments);
}

// ---------- chat ----------

function scrollToEnd() {
  const m = $("messages");
  m.scrollTop = m.scrollHeight;
}

function addMessage(role, text) {
  $("empty").hidden = true;
  const body = el("div", { class: "msg-body", text });
  const meta = el("div", { class: "msg-meta" });
  const node = el("article", { class: `msg msg-${role}`, "aria-label": role === "user" ? "You" : "Reflexia" }, body, meta);
  $("messages").append(node);
  scrollToEnd();
  return { node, body, meta };
}

/** Merges what the server says about the variant it chose: response headers first, then the body's `reflexia` field. */
function variantInfo(res) {
  const h = (name) => res.headers.get(name) ?? undefined;
  return {
    variant: h("x-reflexia-variant"),
    quantization: h("x-reflexia-quantization"),
    reason: h("x-reflexia-reason"),
    cache: h("x-reflexia-cache"),
  };
}

function mergeInfo(info, extra) {
  if (!extra || typeof extra !== "object") return info;
  const out = { ...info };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

const REASONS = {
  pinned: "variant named in the request",
  default: "configured default variant",
};

function renderBadge(meta, info, usage, tps) {
  const parts = [];
  const variant = info.variant ?? info.model;
  if (variant) parts.push(el("span", { class: "chip chip-variant", title: "Variant that served this answer", text: String(variant) }));
  if (info.quantization) parts.push(el("span", { class: "chip chip-quant", title: "Quantization", text: String(info.quantization) }));
  const c = info.complexity;
  if (c && typeof c === "object" && typeof c.score === "number") {
    parts.push(el("span", { class: "chip", title: "Prompt complexity (level and score 0–1)", text: `complexity ${c.level ?? ""} ${c.score.toFixed(2)}`.replace("  ", " ") }));
  }
  if (info.role) {
    const role = state.roles.find((r) => r.id === info.role);
    parts.push(el("span", { class: "chip", title: "Expert role", text: `role: ${role?.name ?? info.role}` }));
  }
  if (info.cache === "hit") parts.push(el("span", { class: "chip chip-cache", title: "Served from the response cache", text: "cached" }));
  if (info.load_ms > 0) parts.push(el("span", { class: "chip chip-plain", title: "Time this request waited for the variant to load", text: `loaded in ${Math.round(info.load_ms)} ms` }));
  if (info.queue_ms >= 1) parts.push(el("span", { class: "chip chip-plain", title: "Time waiting for a free sequence", text: `queued ${Math.round(info.queue_ms)} ms` }));
  if (usage?.completion_tokens !== undefined) parts.push(el("span", { class: "chip chip-plain", text: `${usage.completion_tokens} tokens${tps ? ` · ${tps.toFixed(1)} tok/s` : ""}` }));
  const children = [];
  if (parts.length) children.push(el("div", { class: "badge", role: "group", "aria-label": "How this answer was produced" }, ...parts));
  if (info.reason) {
    const reason = String(info.reason);
    children.push(el("p", { class: "reason" }, "Why: ", el("code", { text: reason }), REASONS[reason] ? ` — ${REASONS[reason]}` : ""));
  }
  meta.replaceChildren(...children);
}

async function sendMessage(userText) {
  state.history.push({ role: "user", content: userText });
  addMessage("user", userText);
  const reply = addMessage("assistant", "");
  reply.node.classList.add("streaming");
  reply.body.append(el("span", { class: "typing", "aria-hidden": "true" }));
  const messagesEl = $("messages");
  messagesEl.setAttribute("aria-busy", "true");
  setBusy(true);

  const controller = new AbortController();
  state.controller = controller;
  const model = $("model").value;
  const variant = $("variant").value;
  const body = {
    model: variant ? `${model}:${variant}` : model || undefined,
    messages: state.history,
    stream: true,
    stream_options: { include_usage: true },
    temperature: Number($("temperature").value),
    max_tokens: Number($("max-tokens").value),
  };
  // Reflexia's extension field: the server prepends the role's system prompt and reports it in `reflexia.role`.
  if ($("role").value) body.role = $("role").value;

  let text = "";
  let info = {};
  let usage;
  let firstTokenAt = 0;
  let lastTokenAt = 0;
  try {
    const res = await api("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    info = variantInfo(res);
    renderBadge(reply.meta, info);
    await readSseJson(res, (chunk) => {
      if (chunk.reflexia) {
        info = mergeInfo(info, chunk.reflexia);
        renderBadge(reply.meta, info, usage);
      }
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) {
        if (!firstTokenAt) {
          firstTokenAt = performance.now();
          reply.body.textContent = "";
        }
        lastTokenAt = performance.now();
        text += delta;
        reply.body.textContent = text;
        scrollToEnd();
      }
    });
    if (!text) reply.body.textContent = "(empty response)";
  } catch (err) {
    if (err.name === "AbortError") {
      reply.node.classList.add("msg-stopped");
      if (!text) reply.body.textContent = "";
      reply.body.append(el("span", { class: "stopped-note", text: text ? " — stopped" : "Stopped." }));
    } else {
      reply.node.classList.add("msg-error");
      reply.body.textContent = (text ? `${text}\n\n` : "") + describeError(err);
    }
  } finally {
    reply.node.classList.remove("streaming");
    reply.body.querySelector(".typing")?.remove();
    messagesEl.removeAttribute("aria-busy");
    state.controller = null;
    setBusy(false);
    if (text) state.history.push({ role: "assistant", content: text });
    const secs = (lastTokenAt - firstTokenAt) / 1000;
    const tps = usage?.completion_tokens > 1 && secs > 0 ? (usage.completion_tokens - 1) / secs : undefined;
    if (Object.values(info).some((v) => v !== undefined) || usage) renderBadge(reply.meta, info, usage, tps);
    scrollToEnd();
    pollStatus();
  }
}

function setBusy(busy) {
  $("send").disabled = busy;
  $("stop").hidden = !busy;
  $("prompt").setAttribute("aria-busy", busy ? "true" : "false");
}

function initComposer() {
  const prompt = $("prompt");
  const submit = () => {
    const text = prompt.value.trim();
    if (!text || state.controller) return;
    prompt.value = "";
    autoGrow();
    sendMessage(text);
  };
  const autoGrow = () => {
    prompt.style.height = "auto";
    prompt.style.height = `${Math.min(prompt.scrollHeight, 240)}px`;
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
  $("stop").addEventListener("click", () => state.controller?.abort());
  $("clear").addEventListener("click", () => {
    state.controller?.abort();
    state.history = [];
    $("messages").replaceChildren();
    $("empty").hidden = false;
    prompt.focus();
  });
  $("model").addEventListener("change", renderVariants);
}

// ---------- start ----------

async function refreshAll() {
  await pollStatus();
  const results = await Promise.allSettled([loadModels(), loadRoles(), loadDocuments()]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed && failed.reason instanceof ApiError && failed.reason.status === 401) setConn("warn", "API key needed");
}

initKeyForm();
initComposer();
initUpload();
refreshAll();
setInterval(() => {
  if (!document.hidden) pollStatus();
}, STATUS_POLL_MS);
document.documentElement.dataset.ready = "1";
