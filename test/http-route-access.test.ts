// Auth and rate limit are decided by the route the router matched: every registered route × method (from
// fastify's own onRoute list, so a route added later is covered without anyone listing it) is requested over a
// real socket in every URL spelling a client can use to dodge a string match, without a key, with a wrong key and
// with the key; and the same walk against a rate-limited server.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeAccessOf, type RouteAccess } from "../src/http/index.ts";
import { WEB_VIEW_ALIASES, WEB_VIEWS } from "../src/http/web-views.ts";
import { startServer, type RunningServer } from "../src/main.ts";
import { createFakeEngine } from "./support/fake-engine.ts";
import { rawHttp, type RawResponse } from "./support/raw-http.ts";
import { createTinyHome, errorOf, liveServerConfig, TINY, type TinyHome } from "./support/server-fixture.ts";

const KEY = "k-route-access-test";
// The served UI: the built bundle (vitest's setup builds it) and the view paths that load its page.
const WEB_FILES = readdirSync(fileURLToPath(new URL("../web/dist", import.meta.url)));
const WEB_PATHS: string[] = [...WEB_VIEWS.map((v) => v.path), ...Object.keys(WEB_VIEW_ALIASES)];

let home: TinyHome;
beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
});
afterAll(async () => {
  await home?.cleanup();
});

async function start(overrides: Record<string, unknown>): Promise<RunningServer> {
  const loaded = liveServerConfig(home.home, { "scheduler.parallel": 2, ...overrides });
  const server = await startServer({ loaded, store: home.store, engine: createFakeEngine(), logger: false });
  await server.ready;
  return server;
}

/** A concrete path for a route pattern: parameters and wildcards filled with harmless values. */
function concretePath(route: RouteAccess): string {
  if (route.url === "*") return "/api/tags"; // the CORS preflight route answers OPTIONS on every path
  return route.url.replace(/:[^/]+/g, "doc-0000").replace(/\*$/, `${TINY}:q4_0`);
}

const pct = (ch: string): string => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;

/** The spellings of one path that a router or a string match might treat differently. */
export function spellings(path: string): { name: string; target: string }[] {
  const lastSlash = path.lastIndexOf("/");
  const letter = path.search(/[a-z]/i);
  const out: { name: string; target: string }[] = [
    { name: "plain", target: path },
    { name: "with a query", target: `${path}?x=1` },
    { name: "absolute form", target: `http://x${path}` },
    { name: "absolute form, real host", target: `http://127.0.0.1${path}` },
    { name: "leading //", target: `/${path}` },
    { name: "leading /./", target: `/.${path}` },
    { name: "leading /x/../", target: `/x/..${path}` },
    { name: "%2e dot segment", target: `/%2e${path}` },
    { name: "trailing slash", target: path.endsWith("/") ? `${path}/` : `${path}/` },
    { name: "upper case", target: path.toUpperCase() },
    { name: "trailing ;", target: `${path};` },
    { name: "trailing %00", target: `${path}%00` },
  ];
  if (letter >= 0) {
    const ch = path[letter];
    out.push({ name: "one letter %-encoded", target: path.slice(0, letter) + pct(ch) + path.slice(letter + 1) });
    out.push({
      name: "one letter %-encoded, lower-case hex",
      target: path.slice(0, letter) + pct(ch).toLowerCase() + path.slice(letter + 1),
    });
    out.push({
      name: "double %-encoding",
      target: path.slice(0, letter) + `%25${pct(ch).slice(1)}` + path.slice(letter + 1),
    });
    out.push({ name: "every letter %-encoded", target: path.replace(/[a-z]/gi, pct) });
    out.push({
      name: "first letter upper case",
      target: path.slice(0, letter) + ch.toUpperCase() + path.slice(letter + 1),
    });
  }
  if (lastSlash > 0) {
    out.push({ name: "inner //", target: `${path.slice(0, lastSlash)}/${path.slice(lastSlash)}` });
    out.push({ name: "inner /./", target: `${path.slice(0, lastSlash)}/.${path.slice(lastSlash)}` });
    out.push({ name: "%2F for /", target: `${path.slice(0, lastSlash)}%2F${path.slice(lastSlash + 1)}` });
    out.push({ name: "%2f for /", target: `${path.slice(0, lastSlash)}%2f${path.slice(lastSlash + 1)}` });
    out.push({ name: "backslash for /", target: `${path.slice(0, lastSlash)}\\${path.slice(lastSlash + 1)}` });
  }
  const seen = new Set<string>();
  return out.filter((s) => (s.name === "plain" || s.target !== path) && !seen.has(s.target) && seen.add(s.target));
}

function send(port: number, route: RouteAccess, target: string, key?: string): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  if (route.method === "OPTIONS")
    Object.assign(headers, { origin: "https://ui.example", "access-control-request-method": "GET" });
  const hasBody =
    route.method === "POST" || route.method === "DELETE" || route.method === "PUT" || route.method === "PATCH";
  // An empty JSON object: every body route refuses it (400) before doing anything, so the walk changes nothing.
  if (hasBody) headers["content-type"] = "application/json";
  return rawHttp(port, { method: route.method, target, headers, body: hasBody ? "{}" : undefined });
}

function expectedPublic(route: RouteAccess): boolean {
  if (route.method === "OPTIONS" && route.url === "*") return true;
  if (route.url === "/healthz" || route.url === "/readyz") return true;
  return WEB_PATHS.includes(route.url) || WEB_FILES.includes(route.url.slice(1));
}

describe("auth is decided by the matched route, for every route × method × spelling", () => {
  let server: RunningServer;
  let port: number;
  let routes: readonly RouteAccess[];

  beforeAll(async () => {
    server = await start({ "auth.enabled": true, "auth.api_key": KEY, "server.cors_origins": "https://ui.example" });
    port = Number(new URL(server.url).port);
    routes = routeAccessOf(server.app);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("the inventory is fastify's whole route list, and only probes, the UI files and the CORS preflight are public", () => {
    // printRoutes is fastify's own rendering of the router: count its method entries against the inventory, so a
    // route registered where the onRoute hook cannot see it fails here instead of going unchecked.
    const printed = server.app.printRoutes({ commonPrefix: false });
    const printedCount = [...printed.matchAll(/\(([A-Z, ]+)\)/g)].reduce((n, m) => n + m[1].split(",").length, 0);
    expect(routes.length).toBe(printedCount);
    expect(routes.length).toBeGreaterThan(30);
    for (const r of [
      "POST /api/generate",
      "DELETE /api/delete",
      "POST /api/documents",
      "POST /api/upload",
      "GET /v1/models/*",
      "HEAD /api/tags",
      "OPTIONS *",
    ]) {
      expect(routes.map((x) => `${x.method} ${x.url}`)).toContain(r);
    }
    for (const r of routes) expect(r.public, `${r.method} ${r.url}`).toBe(expectedPublic(r));
  });

  it("no key → 401, wrong key → 401, the key → anything but 401 (and never 5xx)", async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const route of routes) {
      const path = concretePath(route);
      for (const s of spellings(path)) {
        const none = await send(port, route, s.target);
        const wrong = await send(port, route, s.target, "not-the-key");
        const good = await send(port, route, s.target, KEY);
        checked++;
        const where = `${route.method} ${route.url} as ${s.name} (${s.target}): none ${none.status}, wrong ${wrong.status}, key ${good.status}`;
        if (good.status === 401 || good.status >= 500) failures.push(where);
        else if (!route.public) {
          if (none.status !== 401 || wrong.status !== 401) failures.push(where);
          else if (route.method !== "HEAD" && errorOf(JSON.parse(none.body)).code !== "RFX_UNAUTHORIZED")
            failures.push(`${where}: body ${none.body}`);
        } else if (s.name === "plain" ? none.status !== good.status : ![401, good.status].includes(none.status))
          failures.push(where);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(routes.length * 15);
  }, 120_000);

  it("unmatched URLs and methods answer 401 without a key (no route map to probe) and 404 with it", async () => {
    for (const [method, target] of [
      ["GET", "/nothing-here"],
      ["PUT", "/api/tags"],
      ["GET", "/api"],
      ["POST", "/v1/chat/completions/"],
      ["GET", "/%2e%2e/%2e%2e/etc/passwd"],
    ]) {
      const none = await rawHttp(port, { method, target });
      expect(none.status, `${method} ${target}`).toBe(401);
      // The same answer as an existing route of either family gives: its shape must not tell them apart.
      for (const existing of ["/api/tags", "/v1/models", "/api/documents"]) {
        const known = await rawHttp(port, { method: "GET", target: existing });
        expect([none.body, none.headers["content-type"]], `${method} ${target} vs ${existing}`).toEqual([
          known.body,
          known.headers["content-type"],
        ]);
      }
      const good = await rawHttp(port, { method, target, headers: { "x-api-key": KEY } });
      expect(good.status, `${method} ${target}`).toBe(404);
      expect(JSON.parse(good.body).error.code).toBe("RFX_NOT_FOUND");
    }
  });

  it("the tricks of issue #10 over a real socket: all 401 without a key; the store is untouched", async () => {
    const before = (await home.store.list()).map((m) => m.name);
    const tricks: { method: string; target: string; body?: string }[] = [
      { method: "GET", target: "/%61pi/tags" },
      { method: "GET", target: "/v%31/models" },
      { method: "GET", target: "http://x/api/tags" },
      { method: "POST", target: "/%61pi/documents", body: '{"content":"x"}' },
      { method: "DELETE", target: "/%61pi/delete", body: `{"model":"${TINY}:q4_0"}` },
      { method: "POST", target: "http://x/api/copy", body: `{"source":"${TINY}:q4_0","destination":"stolen"}` },
    ];
    for (const t of tricks) {
      const r = await rawHttp(port, {
        method: t.method,
        target: t.target,
        body: t.body,
        headers: t.body ? { "content-type": "application/json" } : {},
      });
      expect(r.status, `${t.method} ${t.target}`).toBe(401);
      expect(errorOf(JSON.parse(r.body)).code).toBe("RFX_UNAUTHORIZED");
    }
    expect((await home.store.list()).map((m) => m.name)).toEqual(before);
    // …while the key still opens them, spelled the same way.
    expect((await rawHttp(port, { method: "GET", target: "/%61pi/tags", headers: { "x-api-key": KEY } })).status).toBe(
      200,
    );
    expect(
      (await rawHttp(port, { method: "GET", target: "http://x/api/tags", headers: { "x-api-key": KEY } })).status,
    ).toBe(200);
  });
});

describe("the rate limit is decided by the matched route too", () => {
  let server: RunningServer;
  let port: number;

  beforeAll(async () => {
    server = await start({ "server.rate_limit_per_minute": 1 });
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("after the budget is spent every protected route is 429 in every spelling; probes and UI stay open", async () => {
    expect((await rawHttp(port, { method: "GET", target: "/api/version" })).status).toBe(200);
    const failures: string[] = [];
    for (const route of routeAccessOf(server.app)) {
      for (const s of spellings(concretePath(route))) {
        const r = await send(port, route, s.target);
        const where = `${route.method} ${route.url} as ${s.name} (${s.target}): ${r.status}`;
        if (r.status >= 500) failures.push(where);
        else if (!route.public && r.status !== 429) failures.push(where);
        else if (route.public && s.name === "plain" && r.status === 429) failures.push(where);
      }
    }
    expect(failures).toEqual([]);
    // Unmatched URLs count too, and their 429 reads as an existing route's of either family.
    const bodies = new Set<string>();
    for (const target of ["/api/tags", "/v1/models", "/api/documents", "/api/nothing-here", "/nothing-here"]) {
      const r = await rawHttp(port, { method: "GET", target });
      expect(r.status, target).toBe(429);
      bodies.add(r.body.replace(/retry in [^"]+/, "retry in …"));
    }
    expect([...bodies]).toHaveLength(1);
  }, 120_000);
});

describe("with keys and a rate limit, guesses count wherever they are sent", () => {
  let server: RunningServer;
  let port: number;

  beforeAll(async () => {
    server = await start({ "auth.enabled": true, "auth.api_key": KEY, "server.rate_limit_per_minute": 6 });
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("wrong keys at unknown URLs spend the budget, and their 401 reads as a route's, rate-limit headers included", async () => {
    const known = await rawHttp(port, { method: "GET", target: "/api/tags", headers: { "x-api-key": "guess-0" } });
    const unknown = await rawHttp(port, { method: "GET", target: "/zz-1", headers: { "x-api-key": "guess-1" } });
    expect([known.status, unknown.status]).toEqual([401, 401]);
    const rateHeaders = (r: RawResponse) => Object.keys(r.headers).filter((h) => h.startsWith("x-ratelimit"));
    expect(rateHeaders(known).length).toBeGreaterThan(0);
    expect(rateHeaders(unknown)).toEqual(rateHeaders(known));
    expect(unknown.headers["x-ratelimit-remaining"]).toBe("4");
    const statuses: number[] = [];
    for (let i = 2; i < 8; i++)
      statuses.push(
        (await rawHttp(port, { method: "GET", target: `/zz-${i}`, headers: { "x-api-key": `guess-${i}` } })).status,
      );
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    // The budget is spent for this client on every route, the right key included (it is per client, not per key).
    expect((await rawHttp(port, { method: "GET", target: "/api/tags", headers: { "x-api-key": KEY } })).status).toBe(
      429,
    );
  });
});
