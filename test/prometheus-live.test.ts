// The acceptance check for metrics: a real scrape of the running server passes `promtool check metrics`, and a
// real Prometheus scraping it every second answers EVERY PromQL expression of kubernetes/grafana-dashboard.json
// with data after traffic. CI (CI=true) fails when prometheus/promtool are missing; locally the suite skips.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardQueries, instantiate, loadDashboard, metricNamesIn } from "./deploy-dashboard-queries.ts";
import { EXPECTED_PROMTOOL_FINDINGS, isExported, type MetricFamily } from "./deploy-exported-metrics.ts";
import { startLiveServer, TINY, type LiveServer } from "./deploy-live-server.ts";
import { startPrometheus, type PrometheusProcess } from "./deploy-prometheus-process.ts";
import { checkBinaries } from "./deploy-require-binary.ts";

const bins = checkBinaries(["prometheus", "promtool"]);

/** Families and sample names of a text-format scrape. */
function parseScrape(text: string): { families: Map<string, MetricFamily>; samples: Set<string> } {
  const families = new Map<string, MetricFamily>();
  const samples = new Set<string>();
  for (const line of text.split("\n")) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) families.set(t[1], { name: t[1], type: t[2] });
    else if (line && !line.startsWith("#")) samples.add(line.split(/[{ ]/)[0]);
  }
  return { families, samples };
}

describe.skipIf(bins.skip)("Prometheus against the live server", () => {
  let live: LiveServer;
  let prom: PrometheusProcess;
  let api: string;
  let scrapeAfterTraffic = "";

  // Auth on, as in kubernetes/configmap.yaml: the metrics listener wants the key too, and Prometheus sends it.
  const KEY = "prometheus-live-test-key";
  const post = (path: string, body: unknown) =>
    fetch(`${api}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    const prometheus = bins.require("prometheus");
    bins.require("promtool");
    live = await startLiveServer({ "auth.enabled": true, "auth.api_key": KEY });
    api = live.server.url;
    // Prometheus starts before the traffic so that counters are seen rising, as in production.
    prom = await startPrometheus({
      binary: prometheus,
      targets: [live.metricsTarget],
      scrapeIntervalSeconds: 1,
      bearerKey: KEY,
      unauthenticatedJob: true,
    });

    const chat = {
      model: TINY,
      messages: [{ role: "user", content: "Explain what a histogram is." }],
      max_tokens: 12,
      temperature: 0,
      seed: 1,
    };
    const statuses: Record<string, number> = {};
    const note = async (name: string, r: Promise<Response>) => {
      const res = await r;
      await res.text(); // streams included: read to the end so the request completes
      statuses[name] = res.status;
    };
    await note("chat", post("/v1/chat/completions", chat));
    await note("chat (cache hit)", post("/v1/chat/completions", chat));
    await note(
      "chat stream",
      post("/v1/chat/completions", {
        ...chat,
        temperature: 0.8,
        seed: undefined,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    await note(
      "completion",
      post("/v1/completions", { model: TINY, prompt: "Once upon a time", max_tokens: 8, temperature: 0.7 }),
    );
    await note(
      "pinned q8_0",
      post("/v1/chat/completions", { ...chat, model: `${TINY}:q8_0`, temperature: 0.5, seed: undefined }),
    );
    await note(
      "ollama generate",
      post("/api/generate", { model: TINY, prompt: "Hello", stream: false, options: { num_predict: 6 } }),
    );
    await note("unknown model", post("/v1/chat/completions", { ...chat, model: "no-such-model" }));
    await note("status", fetch(`${api}/api/status`, { headers: { "x-api-key": KEY } }));
    expect(statuses).toEqual({
      chat: 200,
      "chat (cache hit)": 200,
      "chat stream": 200,
      completion: 200,
      "pinned q8_0": 200,
      "ollama generate": 200,
      "unknown model": 404,
      status: 200,
    });

    scrapeAfterTraffic = await (
      await fetch(`${live.server.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })
    ).text();
    // Wait until Prometheus holds a scrape taken after all that traffic, then two more so every rate() window
    // has at least two post-traffic samples.
    const generated = Number(
      /^reflexia_generated_tokens_total\{[^}]*quantization="q8_0"[^}]*\} (\S+)$/m.exec(scrapeAfterTraffic)?.[1] ??
        "NaN",
    );
    expect(generated).toBeGreaterThan(0);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await prom.query(`sum(reflexia_generated_tokens_total{quantization="q8_0"}) >= ${generated}`);
      if (r.status === "success" && (r.data?.result.length ?? 0) > 0) break;
      if (Date.now() > deadline) throw new Error(`Prometheus never scraped the traffic:\n${prom.log()}`);
      await new Promise((res) => setTimeout(res, 250));
    }
    await new Promise((res) => setTimeout(res, 2500));
  });

  // On a loaded machine a 1 s scrape can time out; the gauges of a failed scrape go stale at once, so the queries
  // below run right after a scrape that succeeded (the assertions themselves are unchanged).
  async function waitForSuccessfulScrape(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await prom.query('up{job="reflexia"} == 1');
      if (r.status === "success" && (r.data?.result.length ?? 0) > 0) return;
      if (Date.now() > deadline) return;
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  afterAll(async () => {
    await prom?.stop();
    await live?.stop();
  });

  it("promtool check metrics accepts a real scrape", () => {
    const r = spawnSync(bins.require("promtool"), ["check", "metrics"], {
      input: scrapeAfterTraffic,
      encoding: "utf8",
    });
    expect(`${r.stdout}${r.stderr}`.trim().split("\n")).toEqual(EXPECTED_PROMTOOL_FINDINGS);
  });

  it("the live scrape declares every metric the dashboard queries", () => {
    const { families, samples } = parseScrape(scrapeAfterTraffic);
    const missing: string[] = [];
    for (const q of dashboardQueries(loadDashboard()))
      for (const n of metricNamesIn(q.expr)) if (!isExported(n, families)) missing.push(`${q.panel}: ${n}`);
    expect(missing).toEqual([]);
    // The guide's exact names are real samples in the scrape, not only declared families.
    for (const n of [
      "reflexia_http_requests_total",
      "reflexia_model_inference_duration_seconds_bucket",
      "reflexia_memory_usage_bytes",
      "reflexia_memory_usage_percent",
      "reflexia_rag_retrieval_duration_seconds_bucket",
      "reflexia_rag_document_count",
    ])
      expect(samples.has(n), n).toBe(true);
  });

  it("Prometheus scrapes the server with the key from its credentials file; without it the scrape is refused", async () => {
    await waitForSuccessfulScrape();
    const r = await prom.query('up{job="reflexia"}');
    expect(r.status).toBe("success");
    expect(r.data!.result.map((x) => x.value![1])).toEqual(["1"]);
    const without = await prom.query('up{job="reflexia-without-key"}');
    expect(without.data!.result.map((x) => x.value![1])).toEqual(["0"]);
    const plain = await fetch(`${live.server.metricsUrl}/metrics`);
    expect(plain.status).toBe(401);
    // A missing key's 401 has one shape on every URL (see http-route-access.test.ts).
    expect(await plain.json()).toEqual({ error: expect.stringContaining("API key"), code: "RFX_UNAUTHORIZED" });
    expect(
      (await fetch(`${live.server.metricsUrl}/metrics`, { headers: { authorization: "Bearer wrong" } })).status,
    ).toBe(401);
  });

  it("every PromQL expression of the dashboard returns data", async () => {
    await waitForSuccessfulScrape();
    const failures: string[] = [];
    let checked = 0;
    for (const q of dashboardQueries(loadDashboard())) {
      const expr = instantiate(q.expr, { instance: ".*" });
      const r = await prom.query(expr);
      checked++;
      if (r.status !== "success") failures.push(`${q.panel}/${q.refId}: ${r.errorType}: ${r.error} — ${expr}`);
      else if (!r.data || r.data.result.length === 0) failures.push(`${q.panel}/${q.refId}: empty result — ${expr}`);
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(30);
  });

  it("the instance variable resolves to the scraped target and filters the queries", async () => {
    const dashboard = loadDashboard();
    const v = dashboard.templating.list.find((x) => x.name === "instance")!;
    const metric = /label_values\((\w+)\s*,\s*instance\)/.exec(v.definition ?? "")![1];
    const r = await fetch(`${prom.url}/api/v1/label/instance/values?${new URLSearchParams({ "match[]": metric })}`);
    const body = (await r.json()) as { status: string; data: string[] };
    expect(body.data).toEqual([live.metricsTarget]);
    const escaped = live.metricsTarget.replace(/[.]/g, "\\\\.");
    const first = dashboardQueries(dashboard).find((q) => q.expr.includes('instance=~"$instance"'))!;
    const hit = await prom.query(instantiate(first.expr, { instance: escaped }));
    expect(hit.data!.result.length).toBeGreaterThan(0);
    const miss = await prom.query(instantiate(first.expr, { instance: "elsewhere:1" }));
    expect(miss.data!.result).toEqual([]);
  });
});

describe("prerequisites", () => {
  it("prometheus and promtool are installed (required in CI)", (ctx) => {
    if (bins.skip) ctx.skip(bins.note);
    expect(bins.missing).toEqual([]);
  });
});
