// Small SVG time-series charts for the live metrics view: lines over the last minutes, a 0-based y axis with a
// round maximum, and an HTML legend; colours come from style.css so dark mode applies.
import { el } from "./dom.ts";

const SVG = "http://www.w3.org/2000/svg";
const W = 560;
const H = 180;
const PAD = { left: 48, right: 10, top: 10, bottom: 22 };

export interface Series {
  name: string;
  /** One value per time; null where there is nothing to plot (a gap in the line). */
  values: (number | null)[];
}

export interface TimeChartOptions {
  title: string;
  unit: string;
  /** Epoch ms of each point. */
  times: number[];
  series: Series[];
  /** The x axis spans this many ms ending at the last time. */
  spanMs: number;
  format?: (v: number) => string;
  /** Fixed y maximum (e.g. 100 for a percentage); otherwise a round number above the data. */
  yMax?: number;
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** 1, 2 or 5 × 10^k at or above `max`. */
export function niceMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].find((m) => m * p >= max) ?? 10) * p;
}

const defaultFormat = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** A <figure> with the chart; data-points / data-max say what it plots (tests and people can read them). */
export function timeChart(o: TimeChartOptions): HTMLElement {
  const fmt = o.format ?? defaultFormat;
  const values = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const dataMax = values.length ? Math.max(...values) : 0;
  const yMax = o.yMax ?? niceMax(dataMax);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const end = o.times.at(-1) ?? Date.now();
  const x = (t: number) => PAD.left + plotW * (1 - Math.min(1, Math.max(0, (end - t) / o.spanMs)));
  const y = (v: number) => PAD.top + plotH * (1 - Math.min(1, v / yMax));

  const latest = o.series.map((s) => {
    const v = [...s.values].reverse().find((x) => x !== null);
    return `${s.name} ${v === undefined || v === null ? "–" : fmt(v)}`;
  });
  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "chart",
    role: "img",
    "aria-label": `${o.title} (${o.unit}), last ${Math.round(o.spanMs / 60000)} min: ${latest.join(", ")}`,
  });
  for (const f of [0, 0.5, 1]) {
    const ty = PAD.top + plotH * (1 - f);
    root.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: ty, y2: ty, class: "grid" }));
    const label = svg("text", { x: PAD.left - 6, y: ty + 4, "text-anchor": "end", class: "tick" });
    label.textContent = fmt(yMax * f);
    root.append(label);
  }
  for (const [t, anchor, text] of [
    [PAD.left, "start", `−${Math.round(o.spanMs / 60000)} min`],
    [W - PAD.right, "end", "now"],
  ] as const) {
    const label = svg("text", { x: t, y: H - 6, "text-anchor": anchor, class: "tick" });
    label.textContent = text;
    root.append(label);
  }
  let points = 0;
  o.series.forEach((s, si) => {
    // Split at gaps so a missing value does not draw a line across it.
    let run: string[] = [];
    const flush = (): void => {
      if (run.length > 1) root.append(svg("polyline", { points: run.join(" "), class: `line series-${si}` }));
      else if (run.length === 1) {
        const [cx, cy] = run[0].split(",");
        root.append(svg("circle", { cx, cy, r: 2.5, class: `dot series-${si}` }));
      }
      run = [];
    };
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return flush();
      points++;
      run.push(`${x(o.times[i]).toFixed(1)},${y(v).toFixed(1)}`);
    });
    flush();
  });
  const legend = el(
    "ul",
    { class: "legend" },
    ...o.series.map((s, si) =>
      el("li", {}, el("span", { class: `swatch series-${si}`, "aria-hidden": "true" }), `${latest[si]}`),
    ),
  );
  return el(
    "figure",
    { class: "chart-card panel", "data-points": points, "data-max": dataMax, "data-title": o.title },
    el(
      "figcaption",
      {},
      el("span", { class: "chart-title", text: o.title }),
      el("span", { class: "hint", text: o.unit }),
    ),
    root,
    legend,
  );
}
