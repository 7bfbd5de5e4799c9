// Fuzzes every body-carrying endpoint (POST/DELETE/PUT/PATCH, taken from fastify's own route list, so a route added
// later is fuzzed without anyone listing it) with malformed requests: broken JSON, wrong content types, non-object
// bodies, invalid UTF-8, deep nesting, prototype keys, every schema field given values its schema refuses, missing
// required fields, traversal and NUL in names, broken multipart. Every request must get a 4xx or 2xx (never 5xx),
// errors in the RFX_ shape; /healthz must answer after each; the model and document stores must never change.
// Real model store and real LanceDB document store; the fake engine, since inference itself is not under test.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { routeAccessOf, type RouteAccess } from "../src/http/index.ts";
import { modelRefSchema } from "../src/http/schemas/common.ts";
import { openRag } from "../src/services/rag/open-rag.ts";
import { createFakeEngine } from "./support/fake-engine.ts";
import { isValidFor } from "./support/json-schema-check.ts";
import { rawHttp } from "./support/raw-http.ts";
import { startLoopbackRegistry } from "./support/loopback-registry.ts";
import { buildTestApp, createTinyHome, errorOf, testConfig, TINY } from "./support/server-fixture.ts";

const MODEL = `${TINY}:q4_0`;
const GHOST = "fuzz-ghost:q4_0";
const UPLOAD_LIMIT = 64 * 1024;
const BODY_LIMIT = 256 * 1024;
/** Nesting of raw JSON text sent as is (the server's parser must cope); values built in the test nest less. */
const DEEP_TEXT = 100_000;
const DEEP_VALUE = 500;
const BODY_METHODS = ["POST", "DELETE", "PUT", "PATCH"];

// ---- the server under test (built before the tests are collected, so there is one test per route) ----

const home = await createTinyHome(["q4_0"]);
// An empty registry on loopback: a well-formed /api/pull finds nothing (404) instead of reaching for the internet.
const registry = await startLoopbackRegistry([]);
const config = testConfig(home.home, {
  "registry.ollama_base_url": registry.url,
  "registry.huggingface_base_url": registry.url,
  "scheduler.parallel": 2,
  "models.default_max_tokens": 4,
  "server.upload_limit_bytes": UPLOAD_LIMIT,
  "server.body_limit_bytes": BODY_LIMIT,
  "server.max_prompt_chars": 50_000,
});
const { app, deps } = await buildTestApp({
  store: home.store,
  engine: createFakeEngine({ tokenDelayMs: 0 }),
  config,
  rag: true,
});
const rag = deps.rag!;
const SEED = [
  {
    content: "Tidal charts for the harbour of Blenport list two high waters a day.",
    title: "Tides",
    source: "seed:tides",
  },
  { content: '{"city":"Varnholt","founded":1291}', title: "City", source: "seed:city", mimeType: "application/json" },
];
for (const d of SEED) await rag.service.ingest(d);
await rag.service.optimize();
await app.ready();
const ROUTES = routeAccessOf(app).filter((r) => BODY_METHODS.includes(r.method));

afterAll(async () => {
  await app.close();
  await registry.close();
  await rag.service.close();
  await home.cleanup();
});

// ---- what "unchanged" means ----

function files(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    const st = statSync(p);
    // Lock files carry a holder's pid, not data.
    if (st.isDirectory()) files(p, out);
    else if (!n.endsWith(".lock")) out.push(`${relative(home.home, p)}:${st.size}`);
  }
  return out.sort();
}

async function snapshot(): Promise<string> {
  const docs = await rag.service.list({ limit: 1000 });
  return JSON.stringify({
    models: files(join(home.home, "models")),
    manifests: (await home.store.list()).map((m) => [m.name, m.variants.map((v) => [v.tag, v.digest])]),
    documents: docs.documents.map((d) => [d.id, d.sha256, d.chunkCount]),
    total: docs.total,
    counts: rag.counts(),
  });
}

// ---- the shapes ----

interface Shape {
  name: string;
  payload?: string | Buffer;
  headers?: Record<string, string>;
  /** Path parameters' value (routes with :id). */
  param?: string;
  /** Malformed by construction: the server must refuse it (4xx). Otherwise only no 5xx / no store change. */
  mustReject: boolean;
}

const deepArrayText = (n: number): string => "[".repeat(n) + "]".repeat(n);
const deepObjectText = (n: number): string => '{"a":'.repeat(n) + "1" + "}".repeat(n);
const deepArray = (n: number): unknown => JSON.parse(deepArrayText(n));
const deepObject = (n: number): unknown => JSON.parse(deepObjectText(n));
/** `body` as JSON with `field` set to raw JSON text (too deep to build as a value and stringify). */
const withRawField = (body: Record<string, unknown>, field: string, raw: string): string => {
  const { [field]: _replaced, ...rest } = body;
  const head = JSON.stringify(rest).slice(0, -1);
  return `${head}${head.length > 1 ? "," : ""}${JSON.stringify(field)}:${raw}}`;
};
const json = { "content-type": "application/json" };

/** Bodies that are broken whatever the route: all must be refused. */
function genericShapes(): Shape[] {
  const reject = (name: string, payload: string | Buffer, headers: Record<string, string> = json): Shape => ({
    name,
    payload,
    headers,
    mustReject: true,
  });
  return [
    reject("empty body", ""),
    reject("whitespace body", "   \n"),
    reject("null", "null"),
    reject("array", "[]"),
    reject("array of objects", "[{}]"),
    reject("string", '"model"'),
    reject("number", "42"),
    reject("huge number", "1e400"),
    reject("boolean", "true"),
    reject("unclosed object", "{"),
    reject("missing value", '{"model":}'),
    reject("trailing comma", '{"model":"x",}'),
    reject("single quotes", "{'model':'x'}"),
    reject("bare key", "{model:1}"),
    reject("NaN literal", '{"a":NaN}'),
    reject("Infinity literal", '{"a":Infinity}'),
    reject("bad escape", '{"a":"\\x41"}'),
    reject("raw control character in a string", '{"a":"\u0001"}'),
    reject("two documents", "{}{}"),
    reject("comment", '{"a":1} // c'),
    reject("cut multibyte", Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xe2, 0x82])])),
    reject("invalid UTF-8 key", Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])),
    reject("invalid UTF-8 everywhere", Buffer.from(Array.from({ length: 256 }, (_, i) => 0x80 + (i % 64)))),
    reject("NUL bytes", Buffer.from([0x7b, 0x00, 0x00, 0x7d])),
    reject(`array nested ${DEEP_TEXT} deep`, deepArrayText(DEEP_TEXT)),
    reject(`object nested ${DEEP_TEXT} deep`, deepObjectText(DEEP_TEXT)),
    reject("__proto__ key", '{"__proto__":{"polluted":true}}'),
    reject("constructor.prototype key", '{"constructor":{"prototype":{"polluted":true}}}'),
    reject("over the body limit", JSON.stringify({ a: "x".repeat(BODY_LIMIT + 1) })),
    reject("text/plain", "{}", { "content-type": "text/plain" }),
    reject("form-urlencoded", "model=x&prompt=y", { "content-type": "application/x-www-form-urlencoded" }),
    reject("xml", "<model>x</model>", { "content-type": "application/xml" }),
    reject("octet-stream", "{}", { "content-type": "application/octet-stream" }),
    reject("no content type", "{}", {}),
    reject("empty content type", "{}", { "content-type": "" }),
    reject("garbage content type", "{}", { "content-type": ";;;/;" }),
    reject("multipart without a boundary", "{}", { "content-type": "multipart/form-data" }),
    reject("multipart with a body that is not multipart", "{}", { "content-type": "multipart/form-data; boundary=X" }),
    reject("gzip-encoded JSON", gzipSync("{}"), { ...json, "content-encoding": "gzip" }),
    reject("unknown content encoding", "{}", { ...json, "content-encoding": "br, zstd, x-fuzz" }),
  ];
}

/** Candidate values for a field; the schema decides which ones a route must refuse. */
function candidates(schema: Record<string, unknown>): unknown[] {
  const long = "x".repeat(typeof schema.maxLength === "number" ? schema.maxLength + 1 : 100_001);
  const tooMany = typeof schema.maxItems === "number" ? Array.from({ length: schema.maxItems + 1 }, () => "x") : [];
  return [
    0,
    -1,
    1.5,
    2 ** 31,
    2 ** 53 + 2,
    1e308,
    -1e308,
    true,
    false,
    null,
    "",
    " ",
    "NaN",
    "Infinity",
    "-1",
    "1e999",
    "0x1F",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    long,
    [],
    [null],
    [1, "a"],
    tooMany,
    [[[["deep"]]]],
    deepArray(DEEP_VALUE),
    {},
    { a: 1 },
    { role: 1, content: [] },
    deepObject(DEEP_VALUE),
  ];
}

/** Names that must never be taken as a model name, a file name or a path. */
const BAD_NAMES = [
  "..",
  "../x",
  "../../etc/passwd",
  "/etc/passwd",
  "x/../../y",
  "C:\\x",
  "a\u0000b",
  "%2e%2e%2fx",
  "name:tag:extra",
  ":",
  "x:",
  " ",
  "x\ny",
];

interface BaseBody {
  body: Record<string, unknown>;
  /** The base itself is refused (a missing model or document): every shape built on it must be refused too. */
  refused: boolean;
}

/**
 * The body each route's shapes start from. Routes that write a store start from a request the server must refuse
 * (a model that does not exist, an empty document), so no shape can legitimately change a store; the others start
 * from a small valid request.
 */
function baseBody(route: RouteAccess): BaseBody {
  const writers: Record<string, Record<string, unknown>> = {
    "POST /api/create": { model: "fuzz-new", from: GHOST, stream: false },
    "POST /api/copy": { source: GHOST, destination: "fuzz-new" },
    "DELETE /api/delete": { model: GHOST },
    "POST /api/documents": { content: "", title: "t" },
    "POST /api/models/quantize": { from: GHOST, quantize: "q8_0", stream: false },
  };
  const key = `${route.method} ${route.url}`;
  if (writers[key]) return { body: writers[key], refused: true };
  const schema = (route.bodySchema ?? {}) as { properties?: Record<string, unknown>; required?: string[] };
  const plausible: Record<string, unknown> = {
    model: MODEL,
    name: MODEL,
    prompt: "hi",
    input: "hi",
    query: "tides",
    messages: [{ role: "user", content: "hi" }],
    stream: false,
    max_tokens: 2,
    options: { num_predict: 2 },
  };
  const body: Record<string, unknown> = {};
  for (const k of schema.required ?? []) body[k] = plausible[k] ?? "x";
  for (const k of ["model", "prompt", "messages", "stream", "max_tokens", "options"])
    if (schema.properties?.[k] && !(k in body)) body[k] = plausible[k];
  return { body, refused: false };
}

/** Every schema field given each candidate (invalid ones must be refused), every required field left out, bad names. */
function schemaShapes(route: RouteAccess, base: BaseBody): Shape[] {
  const schema = route.bodySchema as
    { properties?: Record<string, Record<string, unknown>>; required?: string[] } | undefined;
  if (!schema?.properties) return [];
  const out: Shape[] = [];
  const shape = (name: string, body: Record<string, unknown>, mustReject: boolean): Shape => ({
    name,
    payload: JSON.stringify(body),
    headers: json,
    mustReject: mustReject || base.refused,
  });
  for (const [field, fieldSchema] of Object.entries(schema.properties)) {
    candidates(fieldSchema).forEach((value, i) => {
      const invalid = !isValidFor(fieldSchema, value);
      // Writers' bases stay refused only while the field that makes them refused is left alone.
      if (base.refused && !invalid && field in base.body) return;
      out.push(
        shape(
          `${field} = candidate ${i} (${JSON.stringify(value)?.slice(0, 40)})`,
          { ...base.body, [field]: value },
          invalid,
        ),
      );
    });
    // 100,000 levels inside the field, as text: refused unless the field takes any object, and then never a crash.
    for (const [kind, raw, value] of [
      ["array", deepArrayText(DEEP_TEXT), deepArray(3)],
      ["object", deepObjectText(DEEP_TEXT), deepObject(3)],
    ] as const) {
      const invalid = !isValidFor(fieldSchema, value);
      if (base.refused && !invalid && field in base.body) continue;
      out.push({
        name: `${field} = ${kind} nested ${DEEP_TEXT} deep`,
        payload: withRawField(base.body, field, raw),
        headers: json,
        mustReject: invalid || base.refused,
      });
    }
    if (JSON.stringify(fieldSchema) === JSON.stringify(modelRefSchema) || field === "filename") {
      for (const bad of BAD_NAMES)
        out.push(shape(`${field} = ${JSON.stringify(bad)}`, { ...base.body, [field]: bad }, true));
    }
  }
  for (const field of schema.required ?? []) {
    const { [field]: _gone, ...rest } = base.body;
    out.push(shape(`without ${field}`, rest, true));
  }
  out.push(shape("the base body", base.body, false));
  const [firstKey] = Object.keys(base.body);
  if (firstKey !== undefined) {
    // The same key twice (the first a wrong type): JSON.parse keeps the last, so this is the base again.
    out.push({
      name: "duplicate keys",
      payload: `{${JSON.stringify(firstKey)}:[[[1]]],${JSON.stringify(base.body).slice(1)}`,
      headers: json,
      mustReject: base.refused,
    });
  }
  return out;
}

/** Multipart bodies for the upload route: every one is broken or breaks a rule. */
function multipartShapes(): Shape[] {
  const B = "fuzzboundary";
  const part = (headers: string, content: string) => `--${B}\r\n${headers}\r\n\r\n${content}\r\n`;
  const file = (name = "a.txt", content = "hello there, fuzz", field = "file") =>
    part(`content-disposition: form-data; name="${field}"; filename="${name}"\r\ncontent-type: text/plain`, content);
  const field = (name: string, value: string) => part(`content-disposition: form-data; name="${name}"`, value);
  const end = `--${B}--\r\n`;
  const mp = (name: string, body: string | Buffer, headers: Record<string, string> = {}): Shape => ({
    name,
    payload: body,
    headers: { "content-type": `multipart/form-data; boundary=${B}`, ...headers },
    mustReject: true,
  });
  return [
    mp("one byte", "x"),
    mp("no closing boundary", file().replace(/\r\n$/, "")),
    mp("only the closing boundary", end),
    mp("no file", field("title", "t") + end),
    mp("two files", file("a.txt") + file("b.txt") + end),
    mp("file in another field", file("a.txt", "hello", "document") + end),
    mp("traversal file name", file("../../etc/passwd") + end),
    mp("Windows traversal file name", file("..\\..\\boot.ini") + end),
    mp("absolute file name", file("/etc/passwd") + end),
    mp("dot-only file name", file("..") + end),
    mp("control character in the file name", file("a\u0001b.txt") + end),
    mp("empty file", file("e.txt", "") + end),
    mp("binary file named .txt", file("b.txt", "\u0000\u0001\u0002\u0003".repeat(512)) + end),
    mp("file over the upload limit", file("big.txt", "word ".repeat(UPLOAD_LIMIT / 5 + 10)) + end),
    mp("title over 500 characters", field("title", "t".repeat(501)) + file() + end),
    mp("title past the parser's field size", field("title", "t".repeat(100_000)) + file() + end),
    mp("source over 1024 characters", field("source", "s".repeat(1025)) + file() + end),
    mp("unknown field", file() + field("tags", "x") + end),
    mp("repeated field", field("source", "a") + field("source", "b") + file() + end),
    mp("__proto__ field", field("__proto__", "x") + file() + end),
    mp("part without headers", `--${B}\r\n\r\nx\r\n` + end),
    mp("garbage part header", `--${B}\r\nGarbage\r\n\r\nx\r\n` + end),
    mp("1,000-character boundary", file(), { "content-type": `multipart/form-data; boundary=${"b".repeat(1000)}` }),
    mp("gzip-encoded multipart", gzipSync(file() + end), { "content-encoding": "gzip" }),
    mp("boundary that never appears", "just some bytes\r\n"),
  ];
}

/** Path parameters for routes like DELETE /api/documents/:id: none names a stored document. */
function paramShapes(): Shape[] {
  return [
    "ghost",
    "..",
    "%2e%2e",
    "..%2F..%2Fetc%2Fpasswd",
    "a%00b",
    "%FF",
    "%E0%A4%A",
    "*",
    "x".repeat(200),
    "x".repeat(201),
    "x".repeat(2000),
    "'%3B DROP TABLE documents%3B --",
    "%F0%9F%92%A5",
    "null",
    "undefined",
    "0",
    "-1",
    "%20",
    "a%2Fb",
    "a%5Cb",
  ].map((param) => ({ name: `id ${JSON.stringify(param.slice(0, 40))}`, param, mustReject: true }));
}

function shapesFor(route: RouteAccess): Shape[] {
  const base = baseBody(route);
  const out = [...genericShapes(), ...schemaShapes(route, base)];
  if (route.url === "/api/upload") out.push(...multipartShapes());
  if (route.url.includes(":")) out.push(...paramShapes());
  return out;
}

function urlFor(route: RouteAccess, shape: Shape): string {
  return route.url.replace(/:[^/]+/g, shape.param ?? "fuzz-ghost-id");
}

describe("fuzz: no 5xx, RFX_ errors, /healthz alive and stores unchanged after every malformed request", () => {
  it("the route list has every body-carrying endpoint", () => {
    const keys = ROUTES.map((r) => `${r.method} ${r.url}`);
    for (const k of [
      "POST /api/generate",
      "POST /api/chat",
      "POST /api/embed",
      "POST /api/embeddings",
      "POST /api/show",
      "POST /api/create",
      "POST /api/copy",
      "DELETE /api/delete",
      "POST /v1/chat/completions",
      "POST /v1/completions",
      "POST /v1/responses",
      "POST /v1/embeddings",
      "POST /api/documents",
      "POST /api/upload",
      "DELETE /api/documents/:id",
      "POST /api/rag/query",
    ]) {
      expect(keys).toContain(k);
    }
  });

  const initial = snapshot();

  it.each(ROUTES.map((r) => [`${r.method} ${r.url}`, r] as const))(
    "%s",
    async (_name, route) => {
      const before = await initial;
      const shapes = shapesFor(route);
      const failures: string[] = [];
      let refused = 0;
      for (const shape of shapes) {
        const res = await app.inject({
          method: route.method as "POST",
          url: urlFor(route, shape),
          headers: shape.headers,
          payload: shape.payload,
        });
        const where = `${shape.name}: ${res.statusCode} ${res.body.slice(0, 200)}`;
        if (res.statusCode >= 500) failures.push(`5xx — ${where}`);
        else if (res.statusCode >= 400) {
          refused++;
          let code: unknown;
          try {
            const err = errorOf(res.json());
            code = err.code;
            if (typeof err.message !== "string") failures.push(`no message — ${where}`);
          } catch {
            failures.push(`not JSON — ${where}`);
          }
          if (typeof code !== "string" || !code.startsWith("RFX_")) failures.push(`not the RFX_ shape — ${where}`);
          if (!String(res.headers["content-type"]).startsWith("application/json"))
            failures.push(`content-type ${res.headers["content-type"]} — ${where}`);
        } else if (shape.mustReject) failures.push(`accepted — ${where}`);
        if ((await app.inject({ url: "/healthz" })).statusCode !== 200) failures.push(`/healthz down after — ${where}`);
        if ((await snapshot()) !== before) {
          failures.push(`a store changed after — ${where}`);
          break;
        }
      }
      expect(failures).toEqual([]);
      expect(shapes.length).toBeGreaterThanOrEqual(50);
      expect(refused).toBeGreaterThanOrEqual(50);
    },
    120_000,
  );

  it("after all of it the document store on disk is the seed, whole and consistent", async () => {
    const verify = (await app.inject({ url: "/api/rag/verify" })).json();
    expect(verify).toMatchObject({ ok: true, documents: SEED.length });
    // Reopened from disk: the same documents, nothing half-written.
    const again = await openRag(config);
    try {
      const listed = await again.service.list({ limit: 100 });
      expect(listed.documents.map((d) => d.source).sort()).toEqual(SEED.map((d) => d.source).sort());
    } finally {
      await again.close();
    }
    expect((await home.store.list()).map((m) => m.name)).toEqual([TINY]);
  });
});

describe("malformed HTTP on the wire answers in the RFX_ shape with the security headers, and the server lives on", () => {
  it("431, bad Content-Length, bad URL, garbage request line, over-long parameter", async () => {
    // The fuzzed app itself, now on a socket (inject never reaches Node's HTTP parser).
    await app.listen({ host: "127.0.0.1", port: 0 });
    {
      const port = (app.server.address() as { port: number }).port;
      const cases: [string, Parameters<typeof rawHttp>[1], number, string][] = [
        [
          "40 KB header",
          { method: "GET", target: "/api/tags", headers: { "x-big": "a".repeat(40_000) } },
          431,
          "RFX_HEADERS_TOO_LARGE",
        ],
        [
          "Content-Length: abc",
          { raw: "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}" },
          400,
          "RFX_BAD_REQUEST",
        ],
        [
          "Content-Length: -1",
          { raw: "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n" },
          400,
          "RFX_BAD_REQUEST",
        ],
        [
          "Content-Length with Transfer-Encoding",
          {
            raw: "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          },
          400,
          "RFX_BAD_REQUEST",
        ],
        [
          "bad chunk size",
          {
            raw: "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
          },
          400,
          "RFX_BAD_REQUEST",
        ],
        ["garbage request line", { raw: "HELLO\r\n\r\n" }, 400, "RFX_BAD_REQUEST"],
        ["bad percent-encoding", { method: "GET", target: "/api/%E0%A4%A" }, 400, "RFX_BAD_REQUEST"],
        [
          "over-long path parameter",
          { method: "GET", target: `/api/documents/${"a".repeat(1000)}` },
          414,
          "RFX_URI_TOO_LONG",
        ],
        [
          "invalid JSON",
          { method: "POST", target: "/v1/chat/completions", headers: json, body: "{bad" },
          400,
          "RFX_INVALID_JSON",
        ],
      ];
      for (const [name, req, status, code] of cases) {
        const r = await rawHttp(port, req);
        expect(r.status, name).toBe(status);
        expect(JSON.parse(r.body), name).toEqual({
          error: { code, message: expect.any(String), type: expect.any(String), param: null },
        });
        expect(r.headers["x-content-type-options"], name).toBe("nosniff");
        // The message says what is wrong, without echoing the request back (fastify's repeats an over-long URL).
        expect(r.body.length, name).toBeLessThan(400);
        expect((await rawHttp(port, { method: "GET", target: "/healthz" })).status, `alive after ${name}`).toBe(200);
      }
    }
  });
});

describe("deep nesting: a 4xx naming the depth and the limit, never a crash or a 5xx; at the limit, served", () => {
  const LIMIT = 1000; // MAX_JSON_DEPTH, stated in README's "HTTP APIs"
  const SCHEMA_LIMIT = 64; // MAX_STRUCTURE_DEPTH
  /** `body` as JSON with the string "__DEEP__" replaced by raw JSON text. */
  const withDeep = (body: unknown, raw: string): string => JSON.stringify(body).replace('"__DEEP__"', raw);
  /** A JSON Schema nested `depth` levels (arrays of arrays of strings). */
  const schemaOf = (depth: number): Record<string, unknown> => {
    let s: Record<string, unknown> = { type: "string" };
    for (let i = 1; i < depth; i++) s = { type: "array", items: s };
    return s;
  };
  const parens = (n: number) => "root ::= " + "(".repeat(n) + '"a"' + ")".repeat(n);
  const ifs = (n: number) => "{{ if .Prompt }}".repeat(n) + "{{ .Prompt }}" + "{{ end }}".repeat(n);
  const nots = (n: number) => "{{ if " + "not (".repeat(n) + ".Prompt" + ")".repeat(n) + " }}x{{ end }}";
  const user = [{ role: "user", content: "hi" }];
  const chatBody = { model: MODEL, messages: user, max_tokens: 2 };
  const ollamaChat = { model: MODEL, messages: user, stream: false, options: { num_predict: 2 } };
  const generate = { model: MODEL, prompt: "hi", stream: false, options: { num_predict: 2 } };
  const responses = { model: MODEL, input: "hi", max_output_tokens: 16 };
  const call = (args: unknown) => ({ id: "c1", type: "function", function: { name: "f", arguments: args } });
  const toolsOf = (parameters: unknown) => [{ type: "function", function: { name: "f", parameters } }];
  const withCallOutput = (output: unknown) => ({
    ...responses,
    input: [
      { type: "function_call", call_id: "c1", name: "f", arguments: "{}" },
      { type: "function_call_output", call_id: "c1", output },
    ],
  });
  const ollamaWithCall = {
    ...ollamaChat,
    messages: [
      ...user,
      { role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: "__DEEP__" } }] },
      ...user,
    ],
  };
  /** An OpenAI chat whose assistant turn called f with `args` (a string) and got "ok" back. */
  const openAiWithCall = (args: string) =>
    JSON.stringify({
      ...chatBody,
      messages: [
        ...user,
        { role: "assistant", content: null, tool_calls: [call(args)] },
        { role: "tool", tool_call_id: "c1", content: "ok" },
      ],
    });
  /** Raw JSON text `depth` levels deep: {"x":[[…]]}. */
  const deepText = (depth: number) => '{"x":' + deepArrayText(depth - 1) + "}";
  /** Raw JSON text of a body nested exactly `depth` levels with its deep part at "__DEEP__", `above` levels down. */
  const toDepth = (depth: number, above: number) => deepText(depth - above);

  // [name, url, payload, status, what the message says]
  const cases: [string, string, string, number, string | RegExp][] = [
    // GBNF groups: llama.cpp's recursive-descent parser overflowed the native stack and ended the process.
    ...(["/v1/chat/completions", "/v1/completions"] as const).flatMap((url): typeof cases => {
      const base = url === "/v1/completions" ? { model: MODEL, prompt: "hi", max_tokens: 2 } : chatBody;
      return [
        [
          `${url} grammar 30,000 groups deep`,
          url,
          JSON.stringify({ ...base, grammar: parens(30_000) }),
          400,
          "grammar (its parenthesised groups) is nested 30,000 levels deep; the limit is 64",
        ],
        [
          `${url} grammar 65 groups deep`,
          url,
          JSON.stringify({ ...base, grammar: parens(SCHEMA_LIMIT + 1) }),
          400,
          "is nested 65 levels deep; the limit is 64",
        ],
        [`${url} grammar 64 groups deep`, url, JSON.stringify({ ...base, grammar: parens(SCHEMA_LIMIT) }), 200, ""],
        [
          `${url} grammar with 100 parentheses in a literal and a class`,
          url,
          JSON.stringify({ ...base, grammar: `root ::= "${"(".repeat(100)}" [(]* # ${"(".repeat(100)}` }),
          200,
          "",
        ],
      ];
    }),
    // JSON Schemas that become grammars.
    [
      "/api/generate format 65 deep",
      "/api/generate",
      JSON.stringify({ ...generate, format: schemaOf(65) }),
      400,
      "format schema is nested 65 levels deep; the limit is 64",
    ],
    ["/api/generate format 64 deep", "/api/generate", JSON.stringify({ ...generate, format: schemaOf(64) }), 200, ""],
    [
      "/v1/chat/completions response_format schema 65 deep",
      "/v1/chat/completions",
      JSON.stringify({
        ...chatBody,
        response_format: { type: "json_schema", json_schema: { name: "a", schema: schemaOf(65) } },
      }),
      400,
      "response_format schema is nested 65 levels deep; the limit is 64",
    ],
    [
      "/v1/chat/completions response_format schema 64 deep",
      "/v1/chat/completions",
      JSON.stringify({
        ...chatBody,
        response_format: { type: "json_schema", json_schema: { name: "a", schema: schemaOf(64) } },
      }),
      200,
      "",
    ],
    ...(
      [
        ["/v1/chat/completions", (p: unknown) => ({ ...chatBody, tools: toolsOf(p) })],
        ["/api/chat", (p: unknown) => ({ ...ollamaChat, tools: toolsOf(p) })],
        ["/v1/responses", (p: unknown) => ({ ...responses, tools: [{ type: "function", name: "f", parameters: p }] })],
      ] as const
    ).flatMap(([url, body]): typeof cases => [
      [
        `${url} tool parameters 65 deep`,
        url,
        JSON.stringify(body(schemaOf(65))),
        400,
        "function f's parameters is nested 65 levels deep; the limit is 64",
      ],
      [`${url} tool parameters 64 deep`, url, JSON.stringify(body(schemaOf(64))), 200, ""],
      [
        `${url} tool parameters 5,000 deep`,
        url,
        withDeep(body("__DEEP__"), deepText(5000)),
        400,
        /^the request body \(through "tools"\) is nested 5,00\d levels deep; the limit is 1,000$/,
      ],
    ]),
    // JSON documents: the body itself (README: 400 past 1,000 levels), and JSON text inside it.
    [
      "/api/generate format 5,000 deep",
      "/api/generate",
      withDeep({ ...generate, format: "__DEEP__" }, deepText(5000)),
      400,
      'the request body (through "format") is nested 5,001 levels deep; the limit is 1,000',
    ],
    [
      "/api/generate body 1,001 deep",
      "/api/generate",
      withDeep({ ...generate, format: "__DEEP__" }, toDepth(LIMIT + 1, 1)),
      400,
      "is nested 1,001 levels deep; the limit is 1,000",
    ],
    [
      "/api/generate body 1,000 deep: the schema limit speaks",
      "/api/generate",
      withDeep({ ...generate, format: "__DEEP__" }, toDepth(LIMIT, 1)),
      400,
      "format schema is nested 999 levels deep",
    ],
    [
      "/v1/chat/completions response_format schema 5,000 deep",
      "/v1/chat/completions",
      withDeep(
        { ...chatBody, response_format: { type: "json_schema", json_schema: { name: "a", schema: "__DEEP__" } } },
        deepText(5000),
      ),
      400,
      'the request body (through "response_format") is nested 5,003 levels deep; the limit is 1,000',
    ],
    [
      "/v1/responses function_call_output.output 5,000 deep",
      "/v1/responses",
      withDeep(withCallOutput("__DEEP__"), deepText(5000)),
      400,
      'the request body (through "input") is nested',
    ],
    [
      "/v1/responses function_call_output.output at the body limit",
      "/v1/responses",
      withDeep(withCallOutput("__DEEP__"), toDepth(LIMIT, 3)),
      200,
      "",
    ],
    [
      "/api/chat assistant tool_calls arguments 5,000 deep",
      "/api/chat",
      withDeep(ollamaWithCall, deepText(5000)),
      400,
      'the request body (through "messages") is nested',
    ],
    [
      "/api/chat assistant tool_calls arguments at the body limit",
      "/api/chat",
      withDeep(ollamaWithCall, toDepth(LIMIT, 6)),
      200,
      "",
    ],
    [
      "/v1/chat/completions tool_calls arguments string 5,000 deep",
      "/v1/chat/completions",
      openAiWithCall(deepText(5000)),
      400,
      "messages[1].tool_calls[0].function.arguments is nested 5,000 levels deep; the limit is 1,000",
    ],
    [
      "/v1/chat/completions tool_calls arguments string 1,000 deep",
      "/v1/chat/completions",
      openAiWithCall(deepText(LIMIT)),
      200,
      "",
    ],
    [
      "/v1/responses function_call arguments string 5,000 deep",
      "/v1/responses",
      JSON.stringify({
        ...responses,
        input: [
          { type: "function_call", call_id: "c1", name: "f", arguments: deepText(5000) },
          { type: "function_call_output", call_id: "c1", output: "ok" },
        ],
      }),
      400,
      "arguments is nested 5,000 levels deep; the limit is 1,000",
    ],
    // Go templates: a request's, and one a model would be created with (which must not be stored).
    [
      "/api/generate template 64 blocks deep",
      "/api/generate",
      JSON.stringify({ ...generate, template: ifs(SCHEMA_LIMIT) }),
      200,
      "",
    ],
    [
      "/api/generate template 65 blocks deep",
      "/api/generate",
      JSON.stringify({ ...generate, template: ifs(SCHEMA_LIMIT + 1) }),
      400,
      "the template ({{ if }} / {{ range }} blocks) is nested 65 levels deep; the limit is 64",
    ],
    [
      "/api/generate template 8,000 blocks deep",
      "/api/generate",
      JSON.stringify({ ...generate, template: ifs(8000) }),
      400,
      "is nested 8,000 levels deep; the limit is 64",
    ],
    [
      "/api/generate template 20,000 parentheses deep",
      "/api/generate",
      JSON.stringify({ ...generate, template: nots(20_000) }),
      400,
      "a template expression (its parentheses) is nested 20,000 levels deep; the limit is 64",
    ],
    [
      "/api/generate template with an unclosed action",
      "/api/generate",
      JSON.stringify({ ...generate, template: "{{" }),
      400,
      "template: unclosed action at line 1",
    ],
    [
      "/api/generate template reading a field Ollama's data lacks",
      "/api/generate",
      JSON.stringify({ ...generate, template: "{{ .Foo }}" }),
      400,
      "template: can't evaluate field Foo",
    ],
    ...(
      [
        ["10,000 blocks deep", ifs(10_000), "is nested 10,000 levels deep; the limit is 64"],
        ["an unclosed action", "{{", "unclosed action"],
        ["a field Ollama's data lacks", "{{ .Foo }}", "can't evaluate field Foo"],
      ] as const
    ).map(([name, template, says]): (typeof cases)[number] => [
      `/api/create with a template ${name}`,
      "/api/create",
      JSON.stringify({ model: "deeptpl", from: MODEL, stream: false, template }),
      400,
      says,
    ]),
  ];

  it.each(cases.map((c) => [c[0], c] as const))("%s", async (_name, [, url, payload, status, says]) => {
    const before = await snapshot();
    const res = await app.inject({ method: "POST", url, headers: json, payload });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
    if (status >= 400) {
      const err = errorOf(res.json());
      expect(err.code).toBe("RFX_VALIDATION");
      expect(err.ollama).toBe(url.startsWith("/api/"));
      if (typeof says === "string") expect(err.message).toContain(says);
      else expect(err.message).toMatch(says);
    }
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    expect(await snapshot()).toBe(before);
  });
});
