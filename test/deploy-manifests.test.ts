// Parses every deployment artefact (Kubernetes manifests, compose, Prometheus and Grafana provisioning, Dockerfile,
// dashboard) and checks that they agree with each other and with the server's config keys and metrics.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { CONFIG_KEYS } from "../src/config/keys.ts";
import { loadConfig } from "../src/config/load-config.ts";
import { allPanels, dashboardQueries, loadDashboard, metricNamesIn } from "./deploy-dashboard-queries.ts";
import { exportedMetricFamilies, isExported } from "./deploy-exported-metrics.ts";
import { requireBinary } from "./deploy-require-binary.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CONFIG_ENVS = new Set(CONFIG_KEYS.map((k) => k.env));

type Doc = Record<string, any>;

function readYamlDocs(path: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(path, "utf8"));
  const out: Doc[] = [];
  for (const d of docs) {
    expect(d.errors, `${relative(ROOT, path)}: ${d.errors.map((e) => e.message).join("; ")}`).toEqual([]);
    const js = d.toJS();
    if (js !== null && js !== undefined) out.push(js);
  }
  return out;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const YAML_FILES = [
  ...walk(join(ROOT, "kubernetes")).filter((p) => /\.ya?ml$/.test(p)),
  ...walk(join(ROOT, "deploy")).filter((p) => /\.ya?ml$/.test(p)),
  join(ROOT, "prometheus.yml"),
  join(ROOT, "docker-compose.yml"),
];

const K8S_KINDS: Record<string, string> = {
  Namespace: "v1",
  ConfigMap: "v1",
  Secret: "v1",
  PersistentVolumeClaim: "v1",
  Deployment: "apps/v1",
  Service: "v1",
  HorizontalPodAutoscaler: "autoscaling/v2",
  ServiceMonitor: "monitoring.coreos.com/v1",
};

function k8sObjects(): (Doc & { file: string })[] {
  const dir = join(ROOT, "kubernetes");
  return readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n) && n !== "kustomization.yaml")
    .flatMap((n) => readYamlDocs(join(dir, n)).map((d) => ({ ...d, file: n })));
}

function one(kind: string): Doc & { file: string } {
  const found = k8sObjects().filter((o) => o.kind === kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0];
}

describe("every YAML and JSON file parses", () => {
  it.each(YAML_FILES.map((p) => [relative(ROOT, p), p]))("%s", (_name, path) => {
    expect(readYamlDocs(path).length).toBeGreaterThan(0);
  });

  it("kubernetes/grafana-dashboard.json", () => {
    expect(() => loadDashboard()).not.toThrow();
  });
});

describe("kubernetes manifests", () => {
  it("hold each expected kind once, with its apiVersion, a name and the app label", () => {
    const objs = k8sObjects();
    expect(objs.map((o) => o.kind).sort()).toEqual(Object.keys(K8S_KINDS).sort());
    for (const o of objs) {
      expect(o.apiVersion, `${o.file} ${o.kind}`).toBe(K8S_KINDS[o.kind]);
      expect(o.metadata?.name, `${o.file}`).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(o.metadata?.labels?.["app.kubernetes.io/name"], `${o.file}`).toBe("reflexia");
    }
  });

  it("kustomization lists every manifest, sets the namespace, and its generated files exist", () => {
    const [k] = readYamlDocs(join(ROOT, "kubernetes/kustomization.yaml"));
    expect(k.kind).toBe("Kustomization");
    expect(k.namespace).toBe(one("Namespace").metadata.name);
    const manifests = readdirSync(join(ROOT, "kubernetes")).filter(
      (n) => /\.ya?ml$/.test(n) && n !== "kustomization.yaml",
    );
    expect([...k.resources].sort()).toEqual(manifests.sort());
    for (const g of k.configMapGenerator ?? [])
      for (const f of g.files) expect(existsSync(join(ROOT, "kubernetes", f)), f).toBe(true);
  });

  it("configmap keys are real config env names and the whole map passes loadConfig", () => {
    const cm = one("ConfigMap");
    const data: Record<string, string> = cm.data;
    for (const [k, v] of Object.entries(data)) {
      expect(CONFIG_ENVS.has(k), `${k} is not in CONFIG_KEYS`).toBe(true);
      expect(typeof v, `${k} must be a string in a ConfigMap`).toBe("string");
    }
    const secret = one("Secret");
    for (const k of Object.keys(secret.stringData ?? secret.data ?? {}))
      expect(CONFIG_ENVS.has(k), `secret key ${k}`).toBe(true);
    expect(Object.keys(secret.stringData ?? {})).toContain("API_KEY");
    // Explicit file path that does not exist would throw; point at nothing by giving only env.
    const { config } = loadConfig({ env: { ...data, ...secret.stringData }, file: undefined });
    expect(config.server.host).toBe("0.0.0.0");
    expect(config.server.port).toBe(8000);
    expect(config.server.metrics_port).toBe(9090);
    expect(config.home).toBe("/data");
  });

  it("deployment: probes on /healthz and /readyz at 8000, ports 8000/9090, limits, config and data wired", () => {
    const dep = one("Deployment");
    const cm = one("ConfigMap");
    const pod = dep.spec.template.spec;
    expect(dep.spec.selector.matchLabels).toMatchObject(dep.spec.template.metadata.labels);
    const [c] = pod.containers;
    const portByName = Object.fromEntries(c.ports.map((p: Doc) => [p.name, p.containerPort]));
    expect(portByName).toEqual({ http: 8000, metrics: 9090 });
    const probePort = (p: Doc) => (typeof p.httpGet.port === "string" ? portByName[p.httpGet.port] : p.httpGet.port);
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(probePort(c.livenessProbe)).toBe(8000);
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(probePort(c.readinessProbe)).toBe(8000);
    if (c.startupProbe) expect(probePort(c.startupProbe)).toBe(8000);
    for (const kind of ["requests", "limits"]) {
      expect(c.resources?.[kind]?.cpu, `${kind}.cpu`).toBeTruthy();
      expect(c.resources?.[kind]?.memory, `${kind}.memory`).toBeTruthy();
    }
    expect(c.envFrom).toEqual(
      expect.arrayContaining([
        { configMapRef: { name: cm.metadata.name } },
        { secretRef: { name: one("Secret").metadata.name } },
      ]),
    );
    const claim = pod.volumes.find((v: Doc) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName;
    expect(claim).toBe(one("PersistentVolumeClaim").metadata.name);
    const dataVolume = pod.volumes.find((v: Doc) => v.persistentVolumeClaim).name;
    expect(c.volumeMounts.find((m: Doc) => m.name === dataVolume)?.mountPath).toBe(cm.data.REFLEXIA_HOME);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
  });

  it("service exposes 8000 and 9090 to the pod's named ports; ServiceMonitor and HPA point at them", () => {
    const dep = one("Deployment");
    const svc = one("Service");
    const podLabels = dep.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(svc.spec.selector);
    const containerPorts = dep.spec.template.spec.containers[0].ports.map((p: Doc) => p.name);
    expect(svc.spec.ports.map((p: Doc) => [p.name, p.port])).toEqual([
      ["http", 8000],
      ["metrics", 9090],
    ]);
    for (const p of svc.spec.ports) expect(containerPorts).toContain(p.targetPort);

    const sm = one("ServiceMonitor");
    expect(svc.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(sm.spec.namespaceSelector.matchNames).toContain(one("Namespace").metadata.name);
    expect(sm.spec.endpoints).toHaveLength(1);
    expect(sm.spec.endpoints[0]).toMatchObject({ port: "metrics", path: "/metrics" });
    // Auth is on (configmap), so /metrics asks for the key: the scrape carries it from the server's own Secret.
    expect(one("ConfigMap").data.ENABLE_AUTH).toBe("true");
    const secret = one("Secret");
    expect(sm.spec.endpoints[0].authorization).toEqual({
      type: "Bearer",
      credentials: { name: secret.metadata.name, key: "API_KEY" },
    });
    // An annotation-driven scrape cannot send the key; it would only collect 401s.
    expect(
      Object.keys(dep.spec.template.metadata.annotations ?? {}).filter((k) => k.startsWith("prometheus.io/")),
    ).toEqual([]);

    const hpa = one("HorizontalPodAutoscaler");
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: dep.apiVersion,
      kind: "Deployment",
      name: dep.metadata.name,
    });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
    expect(hpa.spec.maxReplicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
    expect(hpa.spec.metrics.length).toBeGreaterThan(0);
  });

  it("PVC requests storage", () => {
    const pvc = one("PersistentVolumeClaim");
    expect(pvc.spec.resources.requests.storage).toMatch(/^\d+(Gi|Mi|Ti)$/);
    expect(pvc.spec.accessModes.length).toBeGreaterThan(0);
  });
});

describe("Dockerfile", () => {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

  it("builds on node:20-slim with npm ci, runs as a non-root user, exposes 8000 and 9090, has a /healthz HEALTHCHECK", () => {
    const froms = lines.filter((l) => /^FROM /i.test(l));
    expect(froms.length).toBeGreaterThan(0);
    for (const f of froms) expect(f).toMatch(/^FROM node:20-slim\b/);
    expect(lines.some((l) => /^RUN .*\bnpm ci\b/.test(l))).toBe(true);
    const users = lines.filter((l) => /^USER /.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(["root", "0"]).not.toContain(users.at(-1));
    const exposed = lines.filter((l) => /^EXPOSE /.test(l)).flatMap((l) => l.split(/\s+/).slice(1));
    expect(exposed.sort()).toEqual(["8000", "9090"]);
    const hc = lines.find((l) => /^HEALTHCHECK /.test(l));
    expect(hc).toMatch(/\/healthz/);
  });

  it("listens on all interfaces only with auth on by default (the API and /metrics ask for the key)", () => {
    const env = Object.fromEntries(
      lines.filter((l) => /^ENV /.test(l)).flatMap((l) => [...l.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])),
    );
    expect(env.HOST).toBe("0.0.0.0");
    expect(env.ENABLE_AUTH).toBe("true");
  });

  it("copies only paths that exist, and its ENV config keys are real", () => {
    for (const l of lines.filter((l) => /^COPY /.test(l) && !/--from=/.test(l))) {
      const parts = l
        .split(/\s+/)
        .slice(1)
        .filter((p) => !p.startsWith("--"));
      for (const src of parts.slice(0, -1)) expect(existsSync(join(ROOT, src)), `COPY ${src}`).toBe(true);
    }
    const envs = lines.filter((l) => /^ENV /.test(l)).flatMap((l) => [...l.matchAll(/(\w+)=/g)].map((m) => m[1]));
    expect(envs.length).toBeGreaterThan(0);
    for (const e of envs.filter((e) => !/^NODE_/.test(e))) expect(CONFIG_ENVS.has(e), `ENV ${e}`).toBe(true);
    const cmd = lines.find((l) => /^CMD /.test(l))!;
    for (const m of cmd.matchAll(/"([^"]+\.(?:js|ts))"/g)) expect(existsSync(join(ROOT, m[1])), m[1]).toBe(true);
  });
});

describe("docker-compose with Prometheus and Grafana", () => {
  const [compose] = readYamlDocs(join(ROOT, "docker-compose.yml"));

  it("runs reflexia, prometheus and grafana; every bind mount source exists", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["grafana", "prometheus", "reflexia"]);
    for (const [name, svc] of Object.entries<Doc>(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const src = String(v).split(":")[0];
        if (src.startsWith(".")) expect(existsSync(join(ROOT, src)), `${name}: ${src}`).toBe(true);
        else expect(Object.keys(compose.volumes ?? {}), `${name}: named volume ${src}`).toContain(src);
      }
    }
    for (const k of Object.keys(compose.services.reflexia.environment))
      expect(CONFIG_ENVS.has(k), `reflexia env ${k}`).toBe(true);
    expect(compose.services.reflexia.environment.HOST).toBe("0.0.0.0");
    // Listening on all interfaces, so auth defaults to on and the key is required to start at all.
    expect(compose.services.reflexia.environment.ENABLE_AUTH).toBe("${ENABLE_AUTH:-true}");
    expect(compose.services.reflexia.environment.API_KEY).toMatch(/^\$\{API_KEY:\?/);
  });

  it("Prometheus sends the same API key as a Bearer token, from a secret made of the variable reflexia reads", () => {
    const [prom] = readYamlDocs(join(ROOT, "prometheus.yml"));
    const job = prom.scrape_configs.find((j: Doc) => j.job_name === "reflexia");
    expect(job.authorization.type).toBe("Bearer");
    const file: string = job.authorization.credentials_file;
    const secrets: string[] = compose.services.prometheus.secrets;
    // Compose mounts a short-syntax secret at /run/secrets/<name>.
    const mounted = secrets.find((name) => `/run/secrets/${name}` === file);
    expect(mounted, `a prometheus secret mounted at ${file}`).toBeDefined();
    expect(compose.secrets[mounted!]).toEqual({ environment: "API_KEY" });
    expect(compose.services.reflexia.environment.API_KEY).toContain("API_KEY");
  });

  it("Prometheus scrapes the compose reflexia service on its metrics port", () => {
    const mount = compose.services.prometheus.volumes.find((v: string) => v.startsWith("./prometheus.yml:"));
    expect(mount).toBeDefined();
    const [prom] = readYamlDocs(join(ROOT, "prometheus.yml"));
    const job = prom.scrape_configs.find((j: Doc) => j.job_name === "reflexia");
    expect(job.metrics_path ?? "/metrics").toBe("/metrics");
    const port = compose.services.reflexia.environment.METRICS_PORT;
    expect(job.static_configs.flatMap((s: Doc) => s.targets)).toContain(`reflexia:${port}`);
  });

  it("prometheus.yml passes promtool check config (with its key file where compose mounts it)", (ctx) => {
    const promtool = requireBinary("promtool", (note) => ctx.skip(note));
    // promtool checks that the credentials file exists: point it at a stand-in for the mounted secret.
    const dir = mkdtempSync(join(tmpdir(), "rfx-promtool-"));
    try {
      writeFileSync(join(dir, "key"), "k");
      const text = readFileSync(join(ROOT, "prometheus.yml"), "utf8").replace(
        "/run/secrets/reflexia_api_key",
        join(dir, "key"),
      );
      expect(text).toContain(join(dir, "key"));
      writeFileSync(join(dir, "prometheus.yml"), text);
      const out = execFileSync(promtool, ["check", "config", join(dir, "prometheus.yml")], { encoding: "utf8" });
      expect(out).toMatch(/SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Grafana is provisioned with a Prometheus datasource and the dashboard directory that holds the dashboard", () => {
    const grafana = compose.services.grafana;
    const mounts = grafana.volumes.map((v: string) => v.split(":"));
    const provisioning = mounts.find(([, target]: string[]) => target === "/etc/grafana/provisioning");
    expect(provisioning, "provisioning mount").toBeDefined();
    const provDir = join(ROOT, provisioning[0]);
    const ds = walk(join(provDir, "datasources"))
      .flatMap(readYamlDocs)
      .flatMap((d) => d.datasources);
    const prom = ds.find((d: Doc) => d.type === "prometheus");
    expect(prom.url).toBe("http://prometheus:9090");
    const providers = walk(join(provDir, "dashboards"))
      .flatMap(readYamlDocs)
      .flatMap((d) => d.providers);
    expect(providers).toHaveLength(1);
    const dashboardMount = mounts.find(([src]: string[]) => src === "./kubernetes/grafana-dashboard.json");
    expect(dashboardMount, "dashboard mount").toBeDefined();
    expect(dirname(dashboardMount[1])).toBe(providers[0].options.path);
  });
});

describe("grafana dashboard", () => {
  const dashboard = loadDashboard();
  const queries = dashboardQueries(dashboard);

  it("is a modern Grafana dashboard with unique panel ids and a Prometheus datasource variable", () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    const panels = allPanels(dashboard);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const ds = dashboard.templating.list.find((v) => v.name === "DS_PROMETHEUS");
    expect(ds).toMatchObject({ type: "datasource", query: "prometheus" });
    for (const p of panels.filter((p) => p.type !== "row")) {
      expect(["timeseries", "stat", "gauge", "heatmap", "bargauge", "table"], p.title).toContain(p.type);
      expect(p.datasource?.uid, p.title).toBe("${DS_PROMETHEUS}");
      expect(p.targets?.length, `${p.title} has queries`).toBeGreaterThan(0);
      expect(p.gridPos.w).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
  });

  it("panels do not overlap", () => {
    const cells = new Map<string, string>();
    for (const p of allPanels(dashboard)) {
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++)
        for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
          const k = `${x},${y}`;
          expect(cells.get(k), `${p.title} overlaps ${cells.get(k)} at ${k}`).toBeUndefined();
          cells.set(k, p.title);
        }
    }
  });

  it("covers the panels the product guide asks for", () => {
    const all = queries.map((q) => q.expr).join("\n");
    for (const m of [
      "reflexia_http_requests_total",
      "reflexia_model_inference_duration_seconds_bucket",
      "reflexia_memory_usage_bytes",
      "reflexia_memory_usage_percent",
      "reflexia_rag_retrieval_duration_seconds_bucket",
      "reflexia_rag_document_count",
    ])
      expect(all, m).toContain(m);
    for (const q of [0.5, 0.95, 0.99])
      expect(all).toContain(
        `histogram_quantile(${q}, sum by (le, model, quantization) (rate(reflexia_model_inference_duration_seconds_bucket`,
      );
  });

  it("extracts metric names from PromQL correctly", () => {
    expect(
      metricNamesIn('histogram_quantile(0.95, sum by (le, model) (rate(a_b_bucket{x="y(z)"}[$__rate_interval])))'),
    ).toEqual(["a_b_bucket"]);
    expect(metricNamesIn("sum(rate(x_total[5m])) / (sum(rate(y_total[5m])) + 1e3) or vector(0)")).toEqual([
      "x_total",
      "y_total",
    ]);
    expect(metricNamesIn("max without (instance) (g) * on (model) group_left (tag) h")).toEqual(["g", "h"]);
  });

  it("every panel queries only metrics the server exports", async () => {
    const families = await exportedMetricFamilies();
    for (const q of queries) {
      const names = metricNamesIn(q.expr);
      expect(names.length, `${q.panel}/${q.refId} selects no metric: ${q.expr}`).toBeGreaterThan(0);
      for (const n of names) expect(isExported(n, families), `${q.panel}/${q.refId}: ${n} is not exported`).toBe(true);
    }
    for (const v of dashboard.templating.list.filter((v) => v.type === "query")) {
      const def =
        typeof v.query === "object" && v.query !== null ? (v.query as { query: string }).query : String(v.query);
      const metric = /label_values\((\w+)\s*,/.exec(def)?.[1];
      expect(metric, `variable ${v.name}`).toBeDefined();
      expect(isExported(metric!, families), `variable ${v.name}: ${metric}`).toBe(true);
    }
  });
});

describe("dashboard ratio panels at idle", () => {
  it("every ratio of rates guards its denominator, so an idle server reads 0, not NaN", () => {
    const ratios = dashboardQueries(loadDashboard()).filter((q) => /rate\(/.test(q.expr) && / \/ /.test(q.expr));
    expect(ratios.length).toBeGreaterThan(0);
    for (const q of ratios) {
      const [numerator, denominator] = q.expr.split(" / ");
      expect(numerator, q.panel).toMatch(/or vector\(0\)\)?$/);
      expect(denominator, q.panel).toMatch(/^clamp_min\(.*or vector\(0\)\)?, 1e-12\)$/);
    }
  });
});
