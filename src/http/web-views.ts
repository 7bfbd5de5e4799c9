// The web UI's views and the paths that open them: the server serves the page at each path (so a reload or a
// shared link works) and the page routes by the same table. Plain data: the browser bundle imports it too.
export const WEB_VIEWS = [
  { id: "chat", path: "/", title: "Chat" },
  { id: "models", path: "/models", title: "Models" },
  { id: "metrics", path: "/metrics", title: "Metrics" },
  { id: "benchmarks", path: "/benchmarks", title: "Benchmarks" },
] as const;

export type WebViewId = (typeof WEB_VIEWS)[number]["id"];

/** Other spellings people type, each opening a view. */
export const WEB_VIEW_ALIASES: Readonly<Record<string, WebViewId>> = { "/chat": "chat", "/benchmark": "benchmarks" };

/** The view a path opens; undefined for paths that are not views. */
export function webViewOf(path: string): WebViewId | undefined {
  const p = path.length > 1 ? path.replace(/\/+$/, "") : path;
  return WEB_VIEWS.find((v) => v.path === p)?.id ?? WEB_VIEW_ALIASES[p];
}
