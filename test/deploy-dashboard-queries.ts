// Reads kubernetes/grafana-dashboard.json's PromQL: every panel query, the metric names it reads, and the query
// with Grafana's template variables replaced so Prometheus itself can evaluate it.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const DASHBOARD_PATH = fileURLToPath(new URL("../kubernetes/grafana-dashboard.json", import.meta.url));

export interface DashboardTarget {
  expr: string;
  refId?: string;
  legendFormat?: string;
  format?: string;
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}

export interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: {
    list: {
      name: string;
      type: string;
      query?: unknown;
      definition?: string;
      allValue?: string;
      includeAll?: boolean;
    }[];
  };
  [k: string]: unknown;
}

export interface DashboardQuery {
  panel: string;
  panelType: string;
  refId: string;
  expr: string;
}

export function loadDashboard(path = DASHBOARD_PATH): Dashboard {
  return JSON.parse(readFileSync(path, "utf8")) as Dashboard;
}

/** Every panel, rows' collapsed children included. */
export function allPanels(d: Dashboard): DashboardPanel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function dashboardQueries(d: Dashboard): DashboardQuery[] {
  return allPanels(d)
    .filter((p) => p.type !== "row")
    .flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, panelType: p.type, refId: t.refId ?? "A", expr: t.expr })),
    );
}

const FUNCTIONS_AND_KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "sum",
  "min",
  "max",
  "avg",
  "count",
  "stddev",
  "stdvar",
  "topk",
  "bottomk",
  "quantile",
  "count_values",
  "group",
  "inf",
  "nan",
]);

/**
 * Metric names a PromQL expression selects. Label matchers, grouping label lists, durations and strings are
 * removed first; what remains is a bare identifier (a metric) or an identifier followed by "(" (a function).
 */
export function metricNamesIn(expr: string): string[] {
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/'(?:[^'\\]|\\.)*'/g, "''")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ");
  // Label lists after by/without/on/ignoring/group_left/group_right hold label names, not metrics.
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  const re = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const word = m[0];
    const before = s[m.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // the "e" of 1e3, units of durations
    const after = s.slice(m.index + word.length).trimStart();
    if (after.startsWith("(")) continue; // a function call
    if (FUNCTIONS_AND_KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** The family a sample name belongs to: histogram/summary series map back to the metric prom-client defines. */
export function familyOf(sampleName: string): string {
  return sampleName.replace(/_(bucket|sum|count)$/, "");
}

/** Grafana's variables, as Grafana itself would fill them for a dashboard showing the last few minutes. */
export function instantiate(expr: string, vars: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    __rate_interval: "30s",
    __interval: "15s",
    __range: "5m",
    __range_s: "300",
    ...vars,
  };
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    if (!(name in all)) throw new Error(`dashboard query uses an unknown variable ${whole}: ${expr}`);
    return all[name];
  });
}
