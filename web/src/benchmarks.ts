// The benchmarks view: run a kind with its parameters in the background (progress, log, cancel), the stored runs
// with the HTML report's own tables and charts in the page, and two runs compared side by side.
import DOMPurify from "dompurify";
import type { BenchmarkRun } from "../../src/bench/history.ts";
import { renderBenchmarkSections } from "../../src/bench/html-report.ts";
import { runMetrics, sameMachine } from "../../src/bench/run-metrics.ts";
import type { BenchmarkJob, BenchmarksBody, ModelsBody } from "../../src/client/index.ts";
import { api, apiJson, describeError, postJson } from "./api.ts";
import { $, el, formatNumber } from "./dom.ts";
import { onServerStatus } from "./state.ts";
import type { View } from "./main.ts";

const POLL_MS = 1000;

/** A run's figures by name, as `reflexia benchmark --compare` reads them (src/bench/run-metrics.ts). */
function figures(run: BenchmarkRun): Map<string, { value: number; lower: boolean }> {
  return new Map(
    runMetrics(run.result).map((m) => [
      m.unit ? `${m.name} (${m.unit})` : m.name,
      { value: m.value, lower: m.better === "lower" },
    ]),
  );
}

function reportOf(run: BenchmarkRun): HTMLElement {
  const html = renderBenchmarkSections(run.result).join("");
  const body = el("div", { class: "report-body" });
  // The report is built from stored JSON: sanitised like any other markup that did not come from this page.
  body.innerHTML = DOMPurify.sanitize(html, { USE_PROFILES: { html: true, svg: true } });
  for (const h of body.querySelectorAll("h2")) h.replaceWith(el("h4", { text: h.textContent ?? "" }));
  return el(
    "article",
    { class: "panel report", "aria-label": `Benchmark ${run.id}`, "data-run": run.id },
    el("h3", { text: `${run.kind} · ${new Date(run.createdAt).toLocaleString()}` }),
    el("p", {
      class: "hint",
      text: `${run.id} · ${run.system.hostname} · ${run.system.cpuModel}${run.durationMs ? ` · ${(run.durationMs / 1000).toFixed(1)} s` : ""}`,
    }),
    run.headline ? el("p", { text: run.headline }) : null,
    body,
    el(
      "details",
      {},
      el("summary", { text: "JSON" }),
      el("pre", { tabindex: "0" }, el("code", { text: JSON.stringify(run, null, 2) })),
    ),
  );
}

function comparison(a: BenchmarkRun, b: BenchmarkRun): HTMLElement {
  const fa = figures(a);
  const fb = figures(b);
  const names = [...new Set([...fa.keys(), ...fb.keys()])];
  const sameHost = sameMachine(a, b);
  const rows = names.map((n) => {
    const x = fa.get(n);
    const y = fb.get(n);
    const ratio = x && y && x.value > 0 ? y.value / x.value : undefined;
    const better =
      ratio === undefined ? "" : (x!.lower ? ratio < 1 : ratio > 1) ? "delta-up" : ratio === 1 ? "" : "delta-down";
    return el(
      "tr",
      {},
      el("th", { scope: "row", text: n }),
      el("td", { class: "num", text: formatNumber(x?.value, 2) }),
      el("td", { class: "num", text: formatNumber(y?.value, 2) }),
      el("td", { class: `num ${better}`, text: ratio === undefined ? "–" : `${ratio.toFixed(2)}×` }),
    );
  });
  return el(
    "section",
    { class: "panel", "aria-label": "Comparison" },
    el("h3", { text: "Comparison" }),
    el("p", {
      class: "hint",
      text: sameHost
        ? "Both runs are from the same machine: the ratios compare like with like (other load on the machine still adds noise)."
        : "The runs are from different machines or CPUs: ratios mix the hardware difference with any software change.",
    }),
    el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { class: "table" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", { scope: "col", text: "figure" }),
            el("th", { scope: "col", class: "num", text: "A" }),
            el("th", { scope: "col", class: "num", text: "B" }),
            el("th", { scope: "col", class: "num", text: "B / A" }),
          ),
        ),
        el("tbody", {}, ...rows),
      ),
    ),
    el("div", { class: "bench-compare" }, reportOf(a), reportOf(b)),
  );
}

export function createBenchmarksView(): View {
  let visible = false;
  let available = false;
  let body: BenchmarksBody | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const selected = new Set<string>();

  const say = (text: string): void => {
    $("bench-msg").textContent = text;
  };

  function applyKind(): void {
    const kind = body?.kinds.find((k) => k.kind === $<HTMLSelectElement>("bench-kind").value);
    $("bench-kind-hint").textContent = kind?.description ?? "";
    const params = new Set(kind?.params ?? []);
    $("bench-variants-field").hidden = !params.has("models");
    for (const f of document.querySelectorAll<HTMLElement>("#bench-form [data-param]"))
      f.hidden = !params.has(f.dataset.param as never);
  }

  function renderRuns(): void {
    const runs = (body?.runs ?? []) as BenchmarkRun[];
    for (const id of [...selected]) if (!runs.some((r) => r.id === id)) selected.delete(id);
    if (runs.length === 0) {
      $("bench-runs").replaceChildren(el("p", { class: "hint", text: "No stored runs yet." }));
    } else {
      $("bench-runs").replaceChildren(
        el(
          "table",
          { class: "table" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ...["Compare", "When", "Kind", "Models", "Headline", ""].map((h) => el("th", { scope: "col", text: h })),
            ),
          ),
          el(
            "tbody",
            {},
            ...runs.map((r) => {
              const check = el("input", {
                type: "checkbox",
                "aria-label": `Select ${r.id} for comparison`,
                checked: selected.has(r.id),
              });
              check.addEventListener("change", () => {
                if (check.checked) selected.add(r.id);
                else selected.delete(r.id);
                $<HTMLButtonElement>("bench-compare").disabled = selected.size !== 2;
              });
              const view = el("button", {
                type: "button",
                class: "btn btn-quiet btn-small",
                text: "View",
                "aria-label": `View ${r.id}`,
              });
              view.addEventListener("click", () => showReports([r]));
              return el(
                "tr",
                { "data-run": r.id },
                el("td", {}, check),
                el("td", { text: new Date(r.createdAt).toLocaleString() }),
                el("td", { text: r.kind }),
                el("td", { class: "variant-name", text: r.models.map((m) => m.ref).join(", ") || "–" }),
                el("td", { class: "state-cell", text: r.headline ?? "" }),
                el("td", {}, view),
              );
            }),
          ),
        ),
      );
    }
    $<HTMLButtonElement>("bench-compare").disabled = selected.size !== 2;
  }

  function showReports(runs: BenchmarkRun[]): void {
    $("bench-report").replaceChildren(runs.length === 2 ? comparison(runs[0], runs[1]) : reportOf(runs[0]));
  }

  function renderJob(job: BenchmarkJob | null): void {
    const running = job?.status === "running" || job?.status === "cancelling";
    $("bench-run").toggleAttribute("disabled", running);
    $("bench-cancel").hidden = !running;
    const progress = $<HTMLProgressElement>("bench-progress");
    progress.hidden = !running;
    if (job) progress.value = job.progress.total > 0 ? job.progress.completed / job.progress.total : 0;
    const log = $("bench-log");
    log.hidden = !job || job.log.length === 0;
    if (job) {
      log.textContent = job.log.slice(-40).join("\n");
      log.scrollTop = log.scrollHeight;
    }
    if (!job) return;
    const what = `${job.kind} (${job.id})`;
    if (job.status === "running")
      say(
        `Running ${what}: step ${Math.min(job.progress.completed + 1, job.progress.total)} of ${job.progress.total}…`,
      );
    else if (job.status === "cancelling") say(`Cancelling ${what}…`);
    else if (job.status === "succeeded") say(`Finished ${what}; stored as ${job.run_id}.`);
    else if (job.status === "cancelled") say(`Cancelled ${what}.`);
    else say(`${what} failed: ${job.error?.message ?? "unknown error"} (${job.error?.code ?? ""})`);
  }

  async function follow(): Promise<void> {
    clearTimeout(timer);
    try {
      const { job } = await apiJson<{ job: BenchmarkJob | null }>("/api/benchmarks/current");
      renderJob(job);
      if (job && (job.status === "running" || job.status === "cancelling")) {
        timer = setTimeout(() => void follow(), POLL_MS);
        return;
      }
      await load();
      if (job?.status === "succeeded" && job.run_id) {
        const run = ((body?.runs ?? []) as BenchmarkRun[]).find((r) => r.id === job.run_id);
        if (run) showReports([run]);
      }
    } catch (err) {
      say(describeError(err));
    }
  }

  async function load(): Promise<void> {
    if (!available) return;
    try {
      const [list, models] = await Promise.all([
        apiJson<BenchmarksBody>("/api/benchmarks"),
        apiJson<ModelsBody>("/api/models"),
      ]);
      body = list;
      const kindSelect = $<HTMLSelectElement>("bench-kind");
      const previous = kindSelect.value;
      kindSelect.replaceChildren(...list.kinds.map((k) => el("option", { value: k.kind, text: k.kind })));
      if (list.kinds.some((k) => k.kind === previous)) kindSelect.value = previous;
      const checked = new Set(
        [...document.querySelectorAll<HTMLInputElement>("#bench-variants input:checked")].map((i) => i.value),
      );
      const refs = models.models.flatMap((m) => m.variants.map((v) => v.name));
      if (checked.size === 0 && refs.length) checked.add(refs[0]);
      $("bench-variants").replaceChildren(
        ...refs.map((ref) =>
          el("label", {}, el("input", { type: "checkbox", value: ref, checked: checked.has(ref) }), ref),
        ),
      );
      applyKind();
      renderRuns();
      renderJob(list.current);
      if (list.current && (list.current.status === "running" || list.current.status === "cancelling"))
        timer = setTimeout(() => void follow(), POLL_MS);
    } catch (err) {
      say(describeError(err));
    }
  }

  function numberList(id: string): number[] {
    return $<HTMLInputElement>(id)
      .value.split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number);
  }

  function initForm(): void {
    $("bench-kind").addEventListener("change", applyKind);
    $("bench-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const kind = body?.kinds.find((k) => k.kind === $<HTMLSelectElement>("bench-kind").value);
      if (!kind) return;
      const params = new Set<string>(kind.params);
      const request: Record<string, unknown> = { kind: kind.kind };
      if (params.has("models")) {
        const models = [...document.querySelectorAll<HTMLInputElement>("#bench-variants input:checked")].map(
          (i) => i.value,
        );
        if (models.length === 0) return say("Choose at least one variant.");
        request.models = models;
      }
      if (params.has("tokens")) request.tokens = Number($<HTMLInputElement>("bench-tokens").value);
      if (params.has("repetitions")) request.repetitions = Number($<HTMLInputElement>("bench-repetitions").value);
      if (params.has("concurrency")) request.concurrency = numberList("bench-concurrency");
      if (params.has("sizes")) request.sizes = numberList("bench-sizes");
      try {
        const { job } = (await (await postJson("/api/benchmarks", request)).json()) as { job: BenchmarkJob };
        renderJob(job);
        timer = setTimeout(() => void follow(), POLL_MS);
      } catch (err) {
        say(describeError(err));
      }
    });
    $("bench-cancel").addEventListener("click", async () => {
      try {
        renderJob(
          ((await (await api("/api/benchmarks/current/cancel", { method: "POST" })).json()) as { job: BenchmarkJob })
            .job,
        );
      } catch (err) {
        say(describeError(err));
      }
    });
    $("bench-compare").addEventListener("click", () => {
      const runs = ((body?.runs ?? []) as BenchmarkRun[]).filter((r) => selected.has(r.id));
      if (runs.length === 2) showReports(runs.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt)));
    });
    $("bench-refresh").addEventListener("click", () => void load());
  }

  initForm();
  onServerStatus((s) => {
    const was = available;
    available = s.features.benchmarks;
    if (!available) say("This server does not run benchmarks over the API; use `reflexia benchmark`.");
    if (visible && available && !was) void load();
  });

  return {
    show() {
      visible = true;
      void load();
    },
    hide() {
      visible = false;
      clearTimeout(timer);
    },
    refresh: load,
  };
}
