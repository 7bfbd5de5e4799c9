// The side panel's server parts: the status card (polled), the documents panel (upload, list, delete) and the
// API-key form; the connection badge in the top bar says whether the server answers and accepts the key.
import type { DocumentBody, DocumentListBody, StatusBody } from "../../src/client/index.ts";
import { api, apiJson, describeError, isUnauthorized, setApiKey, getApiKey, ApiError } from "./api.ts";
import { openDialog } from "./dialog.ts";
import { $, el, formatBytes, plural, relativeTime } from "./dom.ts";
import { setServerStatus } from "./state.ts";

export function setConn(kind: "ok" | "warn" | "error", text: string): void {
  const conn = $("conn");
  conn.dataset.state = kind;
  conn.querySelector(".conn-text")!.textContent = text;
}

export async function pollStatus(): Promise<StatusBody | null> {
  try {
    const s = await apiJson<StatusBody>("/api/status");
    renderStatus(s);
    setServerStatus(s);
    setConn("ok", "Connected");
    return s;
  } catch (err) {
    if (isUnauthorized(err)) setConn("warn", "API key needed");
    else setConn("error", "Unreachable");
    return null;
  }
}

function renderStatus(s: StatusBody): void {
  const q = s.queue;
  const mem = s.memory;
  const cache = s.cache;
  const rows: [string, string | number | undefined][] = [
    [
      "State",
      s.draining ? "draining" : s.ready === false ? `starting${s.ready_reason ? ` (${s.ready_reason})` : ""}` : "ready",
    ],
    ["Running", `${q.running} of ${q.parallel} per variant`],
    ["Queued", `${q.queued} / ${q.queue_size}`],
    ["Active sequences", s.active_sequences],
    ["Memory", mem ? `${formatBytes(mem.used_bytes)} (${Number(mem.percent).toFixed(1)}%)` : undefined],
    ["Budget", mem ? `${formatBytes(mem.budget_bytes)} · ${Math.round((mem.pressure ?? 0) * 100)}% used` : undefined],
    [
      "Compute",
      s.gpu.backend === "cpu"
        ? "CPU"
        : `${s.gpu.backend.toUpperCase()} · ${s.gpu.devices.map((d) => `${d.description}, ${formatBytes(d.free_bytes)} free`).join(" · ")}`,
    ],
    [
      "Cache",
      cache.enabled ? `${cache.hits} hits · ${cache.misses} misses · ${plural(cache.size, "entry", "entries")}` : "off",
    ],
    ["Documents", s.rag.enabled ? `${s.rag.documents} (${plural(s.rag.chunks, "chunk")})` : undefined],
    ["Adaptive", s.adaptive_quantization ? "on" : "off"],
  ];
  $("status").replaceChildren(
    ...rows
      .filter(([, v]) => v !== undefined)
      .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]),
  );
  const loaded = s.loaded.map((v) =>
    el(
      "li",
      {},
      el("span", { class: "variant-name", text: v.variant }),
      el("span", {
        class: "hint",
        text: `${v.embedding ? "embeddings" : `${v.running} running · ${v.queued} queued`}${v.gpu_layers ? ` · ${v.gpu_layers}/${v.total_layers} layers on GPU` : ""}${!v.embedding && v.expires_at ? ` · unloads ${relativeTime(v.expires_at)}` : ""}`,
      }),
    ),
  );
  const loading = s.loading.map((key) =>
    el("li", {}, el("span", { class: "variant-name", text: key }), el("span", { class: "hint", text: "loading…" })),
  );
  $("variants").replaceChildren(...loaded, ...loading);
  if (!loaded.length && !loading.length) $("variants").append(el("li", { class: "hint", text: "None loaded yet" }));
  $("status-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

// ---------- documents ----------

let announceTimer: ReturnType<typeof setTimeout> | undefined;

function announceDocs(text: string): void {
  const msg = $("docs-msg");
  msg.textContent = text;
  msg.dataset.sticky = "1";
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => (msg.dataset.sticky = ""), 4000);
}

export async function loadDocuments(): Promise<void> {
  const msg = $("docs-msg");
  try {
    const body = await apiJson<DocumentListBody>("/api/documents?limit=200");
    const docs = body.documents;
    $("docs").replaceChildren(
      ...(docs.length ? docs.map(documentItem) : [el("li", { class: "hint", text: "No documents yet" })]),
    );
    if (msg.dataset.sticky !== "1") msg.textContent = "";
  } catch (err) {
    $("docs").replaceChildren();
    msg.textContent =
      err instanceof ApiError && err.status === 404
        ? "Document storage is not available on this server."
        : describeError(err);
  }
}

function documentItem(d: DocumentBody): HTMLLIElement {
  const name = d.title || d.source || d.id;
  const del = el("button", {
    type: "button",
    class: "btn btn-quiet btn-small",
    "aria-label": `Delete ${name}`,
    text: "Delete",
  });
  del.addEventListener("click", () => void deleteDocument(d.id, name));
  return el(
    "li",
    {},
    el("span", { class: "doc-name", title: name, text: name }),
    el("span", { class: "hint", text: plural(d.chunk_count, "chunk") }),
    del,
  );
}

async function deleteDocument(id: string, name: string): Promise<void> {
  if (
    !(await openDialog({
      title: "Delete document",
      content: `Delete “${name}” and its chunks? Answers can no longer cite it.`,
      confirm: "Delete",
      danger: true,
    }))
  )
    return;
  try {
    await api(`/api/documents/${encodeURIComponent(id)}`, { method: "DELETE" });
    announceDocs(`Deleted ${name}.`);
  } catch (err) {
    announceDocs(describeError(err));
  }
  await loadDocuments();
}

export function initSidebar(onKeyChange: () => void): void {
  $<HTMLInputElement>("api-key").value = getApiKey();
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setApiKey($<HTMLInputElement>("api-key").value);
    onKeyChange();
  });
  $("upload-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>("doc-file");
    const file = input.files?.[0];
    if (!file) return announceDocs("Choose a file first.");
    const form = new FormData();
    form.append("file", file, file.name);
    announceDocs(`Uploading ${file.name}…`);
    try {
      const body = await apiJson<{ status: string; document: DocumentBody }>("/api/upload", {
        method: "POST",
        body: form,
      });
      announceDocs(
        `${body.status === "unchanged" ? "Already stored" : "Added"} ${file.name} (${plural(body.document.chunk_count, "chunk")}).`,
      );
      input.value = "";
    } catch (err) {
      announceDocs(describeError(err));
    }
    await loadDocuments();
  });
  $("docs-refresh").addEventListener("click", () => void loadDocuments());
}
