// The Reflexia web UI: one page with four views (chat, models, live metrics, benchmarks) routed by path, a side
// panel that is a drawer on narrow screens, and the server's status polled while the tab is visible.
import { WEB_VIEWS, webViewOf, type WebViewId } from "../../src/http/web-views.ts";
import { isUnauthorized } from "./api.ts";
import { createBenchmarksView } from "./benchmarks.ts";
import { createChatView } from "./chat.ts";
import { $ } from "./dom.ts";
import { createMetricsView } from "./metrics.ts";
import { createModelsView } from "./models.ts";
import { initSidebar, loadDocuments, pollStatus, setConn } from "./sidebar.ts";

const STATUS_POLL_MS = 5000;
/** Narrower than this the side panel is a drawer (keep in step with the media query in style.css). */
const DRAWER_QUERY = "(max-width: 860px)";

export interface View {
  /** Called each time the view is shown (load what it shows). */
  show(): void;
  hide(): void;
  /** Called after the API key changed or the server came back. */
  refresh(): Promise<void>;
}

const chat = createChatView();
const views: Record<WebViewId, View> = {
  chat,
  models: createModelsView(),
  metrics: createMetricsView(),
  benchmarks: createBenchmarksView(),
};
let active: WebViewId = "chat";

// ---------- drawer ----------

const drawerQuery = window.matchMedia(DRAWER_QUERY);

function setDrawer(open: boolean): void {
  const sidebar = $("sidebar");
  const toggle = $("drawer-toggle");
  const isDrawer = drawerQuery.matches;
  document.body.classList.toggle("drawer-open", isDrawer && open);
  toggle.setAttribute("aria-expanded", String(isDrawer && open));
  $("scrim").hidden = !(isDrawer && open);
  // A closed drawer is out of the tab order and the accessibility tree; on wide screens the panel is always there.
  sidebar.inert = isDrawer && !open;
  if (isDrawer && open) $("drawer-close").focus();
}

function initDrawer(): void {
  $("drawer-toggle").addEventListener("click", () => setDrawer(!document.body.classList.contains("drawer-open")));
  $("drawer-close").addEventListener("click", () => {
    setDrawer(false);
    $("drawer-toggle").focus();
  });
  $("scrim").addEventListener("click", () => setDrawer(false));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("drawer-open")) {
      setDrawer(false);
      $("drawer-toggle").focus();
    }
  });
  drawerQuery.addEventListener("change", () => setDrawer(false));
  setDrawer(false);
}

// ---------- routing ----------

function showView(id: WebViewId, focus = false): void {
  if (id !== active) views[active].hide();
  active = id;
  document.body.dataset.view = id;
  for (const v of WEB_VIEWS) {
    $(`view-${v.id}`).hidden = v.id !== id;
  }
  for (const a of document.querySelectorAll<HTMLAnchorElement>(".views-nav a")) {
    if (a.dataset.view === id) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${WEB_VIEWS.find((v) => v.id === id)!.title} · Reflexia`;
  views[id].show();
  if (focus) $("main").focus();
}

function initRouter(): void {
  for (const a of document.querySelectorAll<HTMLAnchorElement>(".views-nav a")) {
    a.addEventListener("click", (e) => {
      if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      const id = a.dataset.view as WebViewId;
      if (location.pathname !== a.pathname) history.pushState({ view: id }, "", a.pathname);
      setDrawer(false);
      showView(id, true);
    });
  }
  window.addEventListener("popstate", () => showView(webViewOf(location.pathname) ?? "chat"));
  showView(webViewOf(location.pathname) ?? "chat");
}

// ---------- start ----------

async function refreshAll(): Promise<void> {
  const status = await pollStatus();
  const results = await Promise.allSettled([
    chat.refresh(),
    loadDocuments(),
    ...(active !== "chat" ? [views[active].refresh()] : []),
  ]);
  if (!status && results.some((r) => r.status === "rejected" && isUnauthorized(r.reason)))
    setConn("warn", "API key needed");
}

initDrawer();
initSidebar(() => void refreshAll());
initRouter();
void refreshAll().finally(() => {
  document.documentElement.dataset.ready = "1";
});
setInterval(() => {
  if (!document.hidden) void pollStatus();
}, STATUS_POLL_MS);
