// The models view: every model with its variants (size, memory estimate, loaded state and expiry), details,
// load / unload, delete with confirmation, a new variant by quantizing with live progress, and pull once the
// server offers it.
import type { ModelDetailsBody, ModelsBody, ModelVariantBody, QuantizeProgressLine } from "../../src/client/index.ts";
import { api, apiJson, describeError, postJson } from "./api.ts";
import { openDialog } from "./dialog.ts";
import { $, el, formatBytes, relativeTime } from "./dom.ts";
import { pollStatus } from "./sidebar.ts";
import { readNdjson } from "./sse.ts";
import { onServerStatus } from "./state.ts";
import type { View } from "./main.ts";

export function createModelsView(): View {
  let visible = false;
  let pullAvailable = false;

  const say = (text: string): void => {
    $("models-msg").textContent = text;
  };

  function stateOf(v: ModelVariantBody): HTMLElement {
    if (v.loading) return el("span", { class: "state state-loading", text: "loading…" });
    if (!v.loaded) return el("span", { class: "state", text: "not loaded" });
    const busy = v.running > 0 ? ` · ${v.running} running` : "";
    const until = v.expires_at ? ` · unloads ${relativeTime(v.expires_at)}` : v.running > 0 ? "" : " · kept loaded";
    return el("span", { class: "state state-loaded", text: `loaded${busy}${until}` });
  }

  function variantRow(v: ModelVariantBody): HTMLTableRowElement {
    const details = el("button", {
      type: "button",
      class: "btn btn-quiet btn-small",
      text: "Details",
      "aria-label": `Details of ${v.name}`,
    });
    details.addEventListener("click", () => void showDetails(v.name));
    const load = el("button", {
      type: "button",
      class: "btn btn-quiet btn-small",
      text: v.loaded ? "Unload" : "Load",
      "aria-label": `${v.loaded ? "Unload" : "Load"} ${v.name}`,
    });
    load.addEventListener("click", () => void setLoaded(v, !v.loaded, load));
    const del = el("button", {
      type: "button",
      class: "btn btn-quiet btn-small btn-danger-text",
      text: "Delete",
      "aria-label": `Delete ${v.name}`,
    });
    del.addEventListener("click", () => void deleteVariant(v));
    return el(
      "tr",
      { "data-variant": v.name },
      el(
        "th",
        { scope: "row" },
        el("span", { class: "variant-name", text: v.tag }),
        v.tag !== v.quantization ? el("span", { class: "hint", text: ` ${v.quantization}` }) : null,
      ),
      el("td", { class: "num", "data-label": "size", text: formatBytes(v.size_bytes) }),
      el("td", {
        class: "num",
        "data-label": "memory",
        text: formatBytes(v.estimated_memory_bytes),
        title: "Estimated resident memory with the configured context",
      }),
      el("td", { class: "state-cell" }, stateOf(v)),
      el("td", { class: "actions" }, details, load, del),
    );
  }

  function render(body: ModelsBody): void {
    const list = $("model-list");
    if (body.models.length === 0) {
      list.replaceChildren(
        el("p", {
          class: "hint",
          text: "The store is empty. Add a model with `reflexia models add FILE.gguf --name NAME`.",
        }),
      );
    } else {
      list.replaceChildren(
        ...body.models.map((m) => {
          const first = m.variants[0];
          return el(
            "section",
            { class: "panel model-card", "aria-label": m.name },
            el(
              "div",
              { class: "panel-head" },
              el("h3", { class: "model-name", text: m.name }),
              el("span", {
                class: "hint",
                text: `${first?.architecture ?? ""} · ${formatBytes(m.total_bytes)} on disk`,
              }),
            ),
            el(
              "div",
              { class: "table-wrap" },
              el(
                "table",
                { class: "table" },
                el("caption", { class: "visually-hidden", text: `Variants of ${m.name}` }),
                el(
                  "thead",
                  {},
                  el(
                    "tr",
                    {},
                    ...["Variant", "Size", "Memory (est.)", "State", "Actions"].map((h) =>
                      el("th", {
                        scope: "col",
                        class: h === "Size" || h.startsWith("Memory") ? "num" : undefined,
                        text: h,
                      }),
                    ),
                  ),
                ),
                el("tbody", {}, ...m.variants.map(variantRow)),
              ),
            ),
          );
        }),
      );
    }
    // The create form offers every stored model and every quantization the server can write.
    const from = $<HTMLSelectElement>("quantize-from");
    const prevFrom = from.value;
    from.replaceChildren(...body.models.map((m) => el("option", { value: m.name, text: m.name })));
    if (body.models.some((m) => m.name === prevFrom)) from.value = prevFrom;
    const to = $<HTMLSelectElement>("quantize-to");
    const prevTo = to.value;
    to.replaceChildren(...body.quantizations.map((q) => el("option", { value: q, text: q })));
    if (body.quantizations.includes(prevTo as (typeof body.quantizations)[number])) to.value = prevTo;
  }

  async function load(): Promise<void> {
    try {
      render(await apiJson<ModelsBody>("/api/models"));
      if ($("models-msg").dataset.sticky !== "1") say("");
    } catch (err) {
      say(describeError(err));
    }
  }

  async function showDetails(ref: string): Promise<void> {
    let d: ModelDetailsBody;
    try {
      d = await apiJson<ModelDetailsBody>(`/api/models/${encodeURIComponent(ref)}`);
    } catch (err) {
      say(describeError(err));
      return;
    }
    const rows: [string, string][] = [
      ["Architecture", d.architecture],
      ["Parameters", d.parameter_count.toLocaleString()],
      ["File type", d.file_type],
      ["File size", formatBytes(d.size_bytes)],
      [
        "Context",
        `${d.context.configured.toLocaleString()} configured · ${d.context.trained.toLocaleString()} trained`,
      ],
      [
        "Memory (est.)",
        `${formatBytes(d.estimated_memory.total_bytes)} = weights ${formatBytes(d.estimated_memory.weights_bytes)} + repack ${formatBytes(d.estimated_memory.repack_bytes)} + KV ${formatBytes(d.estimated_memory.kv_cache_bytes)} + compute ${formatBytes(d.estimated_memory.compute_bytes)}`,
      ],
      ["Source", `${d.source.kind}: ${d.source.from}`],
      ["Digest", d.digest],
      ["Added", new Date(d.created_at).toLocaleString()],
    ];
    const params = Object.entries(d.parameters).filter(([, v]) => v !== null) as [string, number][];
    const content = el(
      "div",
      { class: "details" },
      el("dl", { class: "kv" }, ...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
      el("h3", { text: "Hyperparameters" }),
      el(
        "dl",
        { class: "kv" },
        ...params.flatMap(([k, v]) => [
          el("dt", { text: k.replaceAll("_", " ") }),
          el("dd", { text: v.toLocaleString() }),
        ]),
      ),
      el("h3", { text: "Chat template" }),
      d.template
        ? el("pre", { class: "template", tabindex: "0" }, el("code", { text: d.template }))
        : el("p", { class: "hint", text: "The file has no chat template; prompts use the engine's default format." }),
    );
    await openDialog({ title: d.name, content, wide: true });
  }

  async function setLoaded(v: ModelVariantBody, loaded: boolean, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    say(`${loaded ? "Loading" : "Unloading"} ${v.name}…`);
    try {
      // Ollama's convention: an empty generate loads; keep_alive 0 unloads.
      await postJson("/api/generate", loaded ? { model: v.name } : { model: v.name, keep_alive: 0 });
      say(`${loaded ? "Loaded" : "Unloaded"} ${v.name}.`);
    } catch (err) {
      say(describeError(err));
    }
    await Promise.all([load(), pollStatus()]);
  }

  async function deleteVariant(v: ModelVariantBody): Promise<void> {
    const ok = await openDialog({
      title: "Delete variant",
      content: `Delete ${v.name} (${formatBytes(v.size_bytes)}) from the store? It is unloaded first; the file is removed once no other variant shares it.`,
      confirm: "Delete",
      danger: true,
    });
    if (!ok) return;
    try {
      await api("/api/delete", {
        method: "DELETE",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: v.name }),
      });
      say(`Deleted ${v.name}.`);
    } catch (err) {
      say(describeError(err));
    }
    await load();
  }

  async function streamProgress(
    path: string,
    body: unknown,
    progress: HTMLProgressElement,
    msg: HTMLElement,
    done: (line: Record<string, unknown>) => string,
  ): Promise<void> {
    progress.hidden = false;
    progress.value = 0;
    try {
      const res = await postJson(path, body);
      await readNdjson<QuantizeProgressLine & Record<string, unknown>>(res, (line) => {
        if (line.status === "success") {
          progress.value = 1;
          msg.textContent = done(line);
          return;
        }
        const l = line as { status: string; completed?: number; total?: number };
        if (typeof l.completed === "number" && typeof l.total === "number" && l.total > 0) {
          progress.value = Math.min(1, l.completed / l.total);
          msg.textContent = `${l.status}: ${Math.round(progress.value * 100)}%`;
        } else {
          msg.textContent = l.status;
        }
      });
    } catch (err) {
      msg.textContent = describeError(err);
    } finally {
      progress.hidden = true;
    }
  }

  function initForms(): void {
    $("quantize-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const submit = $<HTMLButtonElement>("quantize-submit");
      const from = $<HTMLSelectElement>("quantize-from").value;
      const quantize = $<HTMLSelectElement>("quantize-to").value;
      const name = $<HTMLInputElement>("quantize-name").value.trim();
      submit.disabled = true;
      await streamProgress(
        "/api/models/quantize",
        { from, quantize, ...(name ? { model: name } : {}) },
        $<HTMLProgressElement>("quantize-progress"),
        $("quantize-msg"),
        (line) => `Created ${String(line.model)} (${formatBytes(line.size_bytes as number | null)}).`,
      );
      submit.disabled = false;
      await load();
    });
    $("pull-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!pullAvailable) return;
      const name = $<HTMLInputElement>("pull-name").value.trim();
      await streamProgress(
        "/api/pull",
        { model: name, stream: true },
        $<HTMLProgressElement>("pull-progress"),
        $("pull-msg"),
        () => `Pulled ${name}.`,
      );
      await load();
    });
    $("models-refresh").addEventListener("click", () => void load());
  }

  initForms();
  // The pull box appears only when the server has the route (POST /api/pull), so nothing requests a 404.
  onServerStatus((s) => {
    pullAvailable = s.features.pull;
    $("pull-panel").hidden = !pullAvailable;
    if (visible) void load();
  });

  return {
    show() {
      visible = true;
      void load();
    },
    hide() {
      visible = false;
    },
    refresh: load,
  };
}
