// RAG over HTTP against the real server (startServer: real engine on the tiny synthetic model, real LanceDB store):
// JSON and multipart ingest, list/get/delete, upload edge cases leaving the store unchanged, retrieval-only
// queries, `rag: true` on the chat/generate endpoints (sources, streaming, cache invalidation), and metrics.
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.ts";
import { startServer, type RunningServer } from "../src/main.ts";
import { writeMinimalPdf } from "../src/rag/extract/write-minimal-pdf.ts";
import {
  createTinyHome,
  liveServerConfig,
  parseNdjson,
  parseSse,
  TINY,
  type TinyHome,
} from "./support/server-fixture.ts";

const UPLOAD_LIMIT = 64 * 1024;

let home: TinyHome;
let server: RunningServer;

/** Distinct topics with rare words, so retrieval has one right answer per question. */
const DOCS = {
  lighthouse: {
    title: "Lighthouse keeping",
    content:
      "# Lighthouse keeping\n\nThe keeper of the Skerryvore lighthouse trims the wick at dusk and logs the weather every four hours. " +
      "Paraffin vapour burners replaced the old colza oil lamps in the nineteenth century.\n\nFog signals sound every thirty seconds when visibility drops.",
  },
  quokka: {
    title: "Quokka habitat",
    content:
      "Quokkas live on Rottnest Island and Bald Island off Western Australia. They are small marsupials that browse on grasses and shrubs at night. " +
      "The quokka population on Rottnest is estimated at around twelve thousand animals.",
  },
  sourdough: {
    title: "Sourdough starter",
    content:
      "A sourdough starter is a culture of wild yeast and lactobacilli. Feed the starter equal weights of rye flour and water every twelve hours. " +
      "A vigorous levain doubles within six hours at room temperature.",
  },
};

async function api(
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  const res = await fetch(`${server.url}${path}`, { ...init, headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

function upload(name: string, bytes: Uint8Array | string, type = "application/octet-stream", field = "file") {
  const form = new FormData();
  const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  form.append(field, new Blob([new Uint8Array(data)], { type }), name);
  return api("/api/upload", { method: "POST", body: form });
}

function form(fill: (f: FormData) => unknown) {
  const f = new FormData();
  fill(f);
  return api("/api/upload", { method: "POST", body: f });
}

function rawMultipart(boundary: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  return api("/api/upload", {
    method: "POST",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, ...headers },
    body: typeof body === "string" ? body : new Uint8Array(body),
  });
}

/** Everything that identifies the store's contents: documents (ids, hashes, chunk counts) and totals. */
async function snapshot() {
  const list = await api("/api/documents?limit=1000");
  const stats = await api("/api/rag/stats");
  return {
    docs: list.body.documents.map((d: any) => [d.id, d.sha256, d.chunk_count]),
    total: list.body.total,
    documents: stats.body.documents,
    chunks: stats.body.chunks,
  };
}

const ids: Record<string, string> = {};

beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
  const loaded = liveServerConfig(home.home, {
    "scheduler.parallel": 1,
    "models.context_size": 4096,
    "server.upload_limit_bytes": UPLOAD_LIMIT,
    "rag.chunk_size": 48,
    "rag.chunk_overlap": 8,
  });
  server = await startServer({ loaded, store: home.store, logger: false, webDir: null });
  await server.ready;
});

afterAll(async () => {
  await server?.close();
  await home?.cleanup();
});

describe("documents API", () => {
  it("ingests JSON documents: 201 created, 200 unchanged, 200 replaced (same id)", async () => {
    for (const [key, d] of Object.entries(DOCS)) {
      const r = await api("/api/documents", {
        method: "POST",
        json: { content: d.content, title: d.title, source: `test:${key}`, type: "markdown" },
      });
      expect(r.status).toBe(201);
      expect(r.body.status).toBe("created");
      expect(r.body.document).toMatchObject({
        title: d.title,
        source: `test:${key}`,
        size: Buffer.byteLength(d.content),
      });
      expect(r.body.document.chunk_count).toBeGreaterThan(0);
      expect(r.body.document.sha256).toMatch(/^[0-9a-f]{64}$/);
      ids[key] = r.body.document.id;
    }
    const again = await api("/api/documents", {
      method: "POST",
      json: { content: DOCS.quokka.content, title: DOCS.quokka.title, source: "test:quokka" },
    });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe("unchanged");
    expect(again.body.document.id).toBe(ids.quokka);

    const changed = `${DOCS.sourdough.content}\n\nRetard the dough overnight in the refrigerator for a sourer crumb.`;
    const replaced = await api("/api/documents", {
      method: "POST",
      json: { content: changed, title: DOCS.sourdough.title, source: "test:sourdough" },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body.status).toBe("replaced");
    expect(replaced.body.document.id).toBe(ids.sourdough);
    DOCS.sourdough.content = changed;
  });

  it("ingests a multipart upload; the file name is only a title", async () => {
    const r = await upload(
      "harbour-notes.md",
      "# Harbour notes\n\nThe harbourmaster Ingeborg schedules dredging of the silted channel every spring.\n",
      "text/markdown",
    );
    expect(r.status).toBe(201);
    expect(r.body.document).toMatchObject({ type: "markdown", source: "harbour-notes.md" });
    expect(r.body.document.chunk_count).toBeGreaterThan(0);
    ids.harbour = r.body.document.id;
  });

  it("lists documents paged, with the fields the web UI reads", async () => {
    const all = await api("/api/documents");
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(4);
    expect(all.body.offset).toBe(0);
    for (const d of all.body.documents) {
      expect(Object.keys(d)).toEqual(
        expect.arrayContaining(["id", "title", "source", "type", "size", "sha256", "added_at", "chunk_count"]),
      );
    }
    expect(all.body.documents.map((d: any) => d.id).sort()).toEqual(Object.values(ids).sort());
    const page = await api("/api/documents?offset=1&limit=2");
    expect(page.body).toMatchObject({ total: 4, offset: 1, limit: 2 });
    expect(page.body.documents.map((d: any) => d.id)).toEqual(all.body.documents.slice(1, 3).map((d: any) => d.id));
    expect((await api("/api/documents?limit=abc")).body.error.code).toBe("RFX_VALIDATION");
    expect((await api("/api/documents?limit=0")).status).toBe(400);
  });

  it("gets a document with its text and chunks; every chunk quotes the text exactly", async () => {
    const r = await api(`/api/documents/${ids.lighthouse}?text=1&chunks=1`);
    expect(r.status).toBe(200);
    expect(r.body.text).toBe(DOCS.lighthouse.content);
    expect(r.body.chunks).toHaveLength(r.body.chunk_count);
    r.body.chunks.forEach((c: any, i: number) => {
      expect(c.index).toBe(i);
      expect(c.text).toBe(r.body.text.slice(c.start, c.end));
    });
    const plain = await api(`/api/documents/${ids.lighthouse}`);
    expect(plain.body.text).toBeUndefined();
    expect(plain.body.chunks).toBeUndefined();
  });

  it("404s unknown documents on get and delete; delete removes a document", async () => {
    for (const method of ["GET", "DELETE"]) {
      const r = await api("/api/documents/no-such-id", { method });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe("RFX_DOCUMENT_NOT_FOUND");
    }
    const del = await api(`/api/documents/${ids.harbour}`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ deleted: true, document: { id: ids.harbour } });
    expect((await api(`/api/documents/${ids.harbour}`)).status).toBe(404);
    expect((await api(`/api/documents/${ids.harbour}`, { method: "DELETE" })).status).toBe(404);
    expect((await api("/api/documents")).body.total).toBe(3);
    delete ids.harbour;
  });
});

describe("upload edge cases: a 4xx with a code, and the store unchanged", () => {
  const binary = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 256);
  const cases: { name: string; send: () => ReturnType<typeof api>; status: number; code: string }[] = [
    { name: "empty file", send: () => upload("empty.txt", "", "text/plain"), status: 422, code: "RFX_EMPTY_DOCUMENT" },
    {
      name: "0-byte PDF",
      send: () => upload("report.pdf", new Uint8Array(0), "application/pdf"),
      status: 422,
      code: "RFX_EMPTY_DOCUMENT",
    },
    {
      name: "binary with a .txt name",
      send: () => upload("notes.txt", binary, "text/plain"),
      status: 415,
      code: "RFX_UNSUPPORTED_MEDIA",
    },
    {
      name: "path-traversal file name",
      send: () => upload("../../etc/passwd.txt", "root:x:0:0:root:/root:/bin/bash\n", "text/plain"),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "Windows path-traversal file name",
      send: () => upload("..\\..\\boot.ini", "[boot loader]\n", "text/plain"),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "file over the upload limit",
      send: () => upload("big.txt", "word ".repeat(UPLOAD_LIMIT / 5 + 100), "text/plain"),
      status: 413,
      code: "RFX_PAYLOAD_TOO_LARGE",
    },
    {
      name: "JSON content over the upload limit",
      send: () => api("/api/documents", { method: "POST", json: { content: "x".repeat(UPLOAD_LIMIT + 1) } }),
      status: 413,
      code: "RFX_PAYLOAD_TOO_LARGE",
    },
    {
      name: "empty JSON content",
      send: () => api("/api/documents", { method: "POST", json: { content: "" } }),
      status: 422,
      code: "RFX_EMPTY_DOCUMENT",
    },
    {
      name: "JSON without content",
      send: () => api("/api/documents", { method: "POST", json: { title: "x" } }),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "JSON with a path as file name",
      send: () => api("/api/documents", { method: "POST", json: { content: "hello there", filename: "/etc/passwd" } }),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "multipart without a file",
      send: () =>
        api("/api/upload", {
          method: "POST",
          body: (() => {
            const f = new FormData();
            f.append("title", "x");
            return f;
          })(),
        }),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "file in the wrong field",
      send: () => upload("a.txt", "hello", "text/plain", "document"),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "upload as JSON instead of multipart",
      send: () => api("/api/upload", { method: "POST", json: { content: "hello" } }),
      status: 415,
      code: "RFX_UNSUPPORTED_MEDIA",
    },
    {
      name: "a second file",
      send: () =>
        form((f) => (f.append("file", new Blob(["first"]), "a.txt"), f.append("file", new Blob(["second"]), "b.txt"))),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "a title over the JSON route's 500 characters",
      send: () =>
        form((f) => (f.append("title", "t".repeat(501)), f.append("file", new Blob(["hello there"]), "a.txt"))),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "a title past the parser's field size (never silently cut)",
      send: () =>
        form((f) => (f.append("title", "t".repeat(100_000)), f.append("file", new Blob(["hello there"]), "a.txt"))),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "an unknown form field",
      send: () => form((f) => (f.append("file", new Blob(["hello there"]), "a.txt"), f.append("tags", "x"))),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "a repeated form field",
      send: () =>
        form(
          (f) => (
            f.append("source", "a"),
            f.append("source", "b"),
            f.append("file", new Blob(["hello there"]), "a.txt")
          ),
        ),
      status: 400,
      code: "RFX_VALIDATION",
    },
    {
      name: "multipart body that is one byte",
      send: () => rawMultipart("XX", "x"),
      status: 400,
      code: "RFX_BAD_REQUEST",
    },
    {
      name: "multipart without the closing boundary",
      send: () =>
        rawMultipart("XX", '--XX\r\ncontent-disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello'),
      status: 400,
      code: "RFX_BAD_REQUEST",
    },
    {
      name: "multipart with a 1,000-character boundary",
      send: () =>
        rawMultipart(
          "B".repeat(1000),
          `--${"B".repeat(1000)}\r\ncontent-disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--${"B".repeat(1000)}--\r\n`,
        ),
      status: 400,
      code: "RFX_BAD_REQUEST",
    },
    {
      name: "multipart without a boundary",
      send: () => api("/api/upload", { method: "POST", headers: { "content-type": "multipart/form-data" }, body: "x" }),
      status: 400,
      code: "RFX_BAD_REQUEST",
    },
    {
      name: "gzip-encoded multipart",
      send: () =>
        rawMultipart(
          "XX",
          gzipSync('--XX\r\ncontent-disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--XX--\r\n'),
          { "content-encoding": "gzip" },
        ),
      status: 400,
      code: "RFX_BAD_REQUEST",
    },
    {
      name: "a JSON document nested 30,000 deep",
      send: () =>
        api("/api/documents", {
          method: "POST",
          json: { content: "[".repeat(30_000) + "]".repeat(30_000), type: "json" },
        }),
      status: 400,
      code: "RFX_VALIDATION",
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const before = await snapshot();
      const r = await c.send();
      expect(r.status, r.text).toBe(c.status);
      expect(r.body.error.code).toBe(c.code);
      expect(await snapshot()).toEqual(before);
    });
  }

  it("a real PDF with a text layer is accepted (the 0-byte one was refused for being empty, not for being a PDF)", async () => {
    const pdf = writeMinimalPdf(["Meteorite classification: chondrites contain chondrules."]);
    const r = await upload("meteorites.pdf", pdf, "application/pdf");
    expect(r.status, r.text).toBe(201);
    expect(r.body.document.type).toBe("pdf");
    expect((await api(`/api/documents/${r.body.document.id}`, { method: "DELETE" })).status).toBe(200);
  });

  it("the store verifies clean after all of them", async () => {
    const v = await api("/api/rag/verify");
    expect(v.body).toMatchObject({ ok: true, orphan_chunks: 0, incomplete_documents: [] });
    expect(v.body.documents).toBe(3);
  });
});

describe("retrieval", () => {
  it("POST /api/rag/query returns cited chunks with offsets and timings", async () => {
    const r = await api("/api/rag/query", { method: "POST", json: { query: "Where do quokkas live?", top_k: 2 } });
    expect(r.status).toBe(200);
    expect(r.body.mode).toBe("hybrid");
    expect(r.body.results.length).toBeGreaterThan(0);
    expect(r.body.results.length).toBeLessThanOrEqual(2);
    const top = r.body.results[0];
    expect(top).toMatchObject({
      document_id: ids.quokka,
      title: DOCS.quokka.title,
      chunk_index: expect.any(Number),
      score: expect.any(Number),
    });
    expect(DOCS.quokka.content.slice(top.start, top.end)).toBe(top.text);
    for (const k of ["embed_ms", "search_ms", "total_ms"]) expect(typeof r.body.timings[k]).toBe("number");
    const vec = await api("/api/rag/query", {
      method: "POST",
      json: { query: "rye flour levain feeding", hybrid: false },
    });
    expect(vec.body.mode).toBe("vector");
    expect(vec.body.results[0].document_id).toBe(ids.sourdough);
  });

  it("rejects bad queries with codes", async () => {
    expect((await api("/api/rag/query", { method: "POST", json: { query: "" } })).body.error.code).toBe(
      "RFX_VALIDATION",
    );
    expect((await api("/api/rag/query", { method: "POST", json: { query: "x", top_k: 0 } })).body.error.code).toBe(
      "RFX_VALIDATION",
    );
    expect((await api("/api/rag/query", { method: "POST", json: { top_k: 3 } })).status).toBe(400);
  });
});

describe("rag: true on the generation endpoints (the tiny model's text is gibberish: sources are asserted)", () => {
  const question = "How often does the Skerryvore lighthouse keeper log the weather?";
  const checkSources = (sources: any[], id: string, content: string) => {
    expect(sources.length).toBeGreaterThan(0);
    expect(sources[0].document_id).toBe(id);
    expect(sources[0].n).toBe(1);
    for (const s of sources) {
      expect(s).toMatchObject({
        title: expect.any(String),
        chunk_index: expect.any(Number),
        score: expect.any(Number),
        text: expect.any(String),
      });
    }
    expect(content.slice(sources[0].start, sources[0].end)).toBe(sources[0].text);
  };

  it("/v1/chat/completions returns reflexia.sources citing the right document", async () => {
    const r = await api("/v1/chat/completions", {
      method: "POST",
      json: { model: TINY, messages: [{ role: "user", content: question }], max_tokens: 4, rag: true },
    });
    expect(r.status, r.text).toBe(200);
    checkSources(r.body.reflexia.sources, ids.lighthouse, DOCS.lighthouse.content);
    expect(r.body.reflexia.rag).toMatchObject({ mode: "hybrid", top_k: 3 });
    expect(r.body.reflexia.rag.context_tokens).toBeGreaterThan(0);
    // The prompt carried the sources: far more prompt tokens than the question alone.
    const plain = await api("/v1/chat/completions", {
      method: "POST",
      json: { model: TINY, messages: [{ role: "user", content: question }], max_tokens: 4 },
    });
    expect(plain.body.reflexia.sources).toBeUndefined();
    expect(r.body.usage.prompt_tokens).toBeGreaterThan(plain.body.usage.prompt_tokens + 50);
  });

  it("streamed chat carries the sources in the final chunk", async () => {
    const r = await api("/v1/chat/completions", {
      method: "POST",
      json: {
        model: TINY,
        messages: [{ role: "user", content: "Which island has twelve thousand quokkas?" }],
        max_tokens: 4,
        stream: true,
        rag: { top_k: 1 },
      },
    });
    expect(r.status).toBe(200);
    const events = parseSse(r.text).filter((e) => e !== "[DONE]") as any[];
    const last = events[events.length - 1];
    expect(last.choices[0].finish_reason).not.toBeNull();
    expect(last.reflexia.sources).toHaveLength(1);
    checkSources(last.reflexia.sources, ids.quokka, DOCS.quokka.content);
  });

  it("/v1/completions, /api/generate (use_rag) and /api/chat cite the right documents", async () => {
    const c = await api("/v1/completions", {
      method: "POST",
      json: { model: TINY, prompt: "Feeding a sourdough starter with rye flour:", max_tokens: 4, rag: true },
    });
    expect(c.status, c.text).toBe(200);
    checkSources(c.body.reflexia.sources, ids.sourdough, DOCS.sourdough.content);

    const g = await api("/api/generate", {
      method: "POST",
      json: {
        model: TINY,
        prompt: "quokka population on Rottnest Island",
        stream: false,
        use_rag: true,
        options: { num_predict: 4 },
      },
    });
    expect(g.status, g.text).toBe(200);
    checkSources(g.body.reflexia.sources, ids.quokka, DOCS.quokka.content);

    const ch = await api("/api/chat", {
      method: "POST",
      json: { model: TINY, messages: [{ role: "user", content: question }], rag: true, options: { num_predict: 4 } },
    });
    expect(ch.status).toBe(200);
    const final = parseNdjson(ch.text).at(-1) as any;
    expect(final.done).toBe(true);
    checkSources(final.reflexia.sources, ids.lighthouse, DOCS.lighthouse.content);
  });

  it("sources are cut to the context window left after max_tokens; no room at all is RFX_CONTEXT_OVERFLOW", async () => {
    const msg = [{ role: "user", content: question }];
    const full = await api("/v1/chat/completions", {
      method: "POST",
      json: { model: TINY, messages: msg, max_tokens: 4, rag: { top_k: 3 } },
    });
    expect(full.body.reflexia.sources).toHaveLength(3);
    expect(full.body.reflexia.sources.some((s: any) => s.truncated)).toBe(false);
    // Leave the prompt about 330 tokens less than all three sources need (4096-token context, one sequence).
    const maxTokens = 4096 - full.body.usage.prompt_tokens + 330;
    const cut = await api("/v1/chat/completions", {
      method: "POST",
      json: { model: TINY, messages: msg, max_tokens: maxTokens, rag: { top_k: 3 } },
    });
    expect(cut.status, cut.text).toBe(200);
    const sources = cut.body.reflexia.sources;
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.length < 3 || sources.at(-1).truncated).toBe(true);
    expect(cut.body.usage.prompt_tokens + maxTokens).toBeLessThanOrEqual(4096);
    for (const s of sources)
      expect(
        DOCS[
          s.title === DOCS.lighthouse.title ? "lighthouse" : s.title === DOCS.quokka.title ? "quokka" : "sourdough"
        ].content.slice(s.start, s.end),
      ).toBe(s.text);
    const over = await api("/v1/chat/completions", {
      method: "POST",
      json: { model: TINY, messages: msg, max_tokens: 4090, rag: true },
    });
    expect(over.status).toBe(400);
    expect(over.body.error.reflexia_code).toBe("RFX_CONTEXT_OVERFLOW");
  });

  it("deterministic RAG answers are cached, and any document change invalidates them", async () => {
    const body = {
      model: TINY,
      messages: [{ role: "user", content: question }],
      max_tokens: 4,
      temperature: 0,
      rag: true,
    };
    const first = await api("/v1/chat/completions", { method: "POST", json: body });
    const second = await api("/v1/chat/completions", { method: "POST", json: body });
    expect(second.body.reflexia.cache).toBe("hit");
    expect(second.body.reflexia.sources).toEqual(first.body.reflexia.sources);
    expect(second.body.choices[0].message.content).toBe(first.body.choices[0].message.content);
    // An unrelated document: the retrieved chunks may stay the same, yet the cached answer is dropped.
    const added = await api("/api/documents", {
      method: "POST",
      json: { content: "Glaciers carve cirques and U-shaped valleys.", source: "test:glacier" },
    });
    expect(added.status).toBe(201);
    const third = await api("/v1/chat/completions", { method: "POST", json: body });
    expect(third.body.reflexia.cache).toBe("miss");
    expect((await api(`/api/documents/${added.body.document.id}`, { method: "DELETE" })).status).toBe(200);
    const fourth = await api("/v1/chat/completions", { method: "POST", json: body });
    expect(fourth.body.reflexia.cache).toBe("miss");
  });

  it("rag on a chat without a user message, and rag of the wrong type, are 400s", async () => {
    const noUser = await api("/v1/chat/completions", {
      method: "POST",
      json: { model: TINY, messages: [{ role: "system", content: "be brief" }], max_tokens: 2, rag: true },
    });
    expect(noUser.status).toBe(400);
    expect(noUser.body.error.code).toBe("RFX_VALIDATION");
    const wrong = await api("/api/chat", {
      method: "POST",
      json: { model: TINY, messages: [{ role: "user", content: "hi" }], rag: "yes" },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe("RFX_VALIDATION"); // Ollama's shape on /api/chat
  });
});

describe("status and metrics", () => {
  it("/api/status reports the document and chunk counts and the in-memory index serving them", async () => {
    const s = await api("/api/status");
    const stats = await api("/api/rag/stats");
    expect(s.body.rag).toMatchObject({ enabled: true, documents: 3, chunks: stats.body.chunks });
    const mem = s.body.rag.memory_index;
    expect(mem).toMatchObject({
      state: "serving",
      chunks: stats.body.chunks,
      quantization: "int8",
      max_bytes: 1 << 30,
    });
    expect(mem.bytes).toBe(mem.vector_bytes + mem.text_bytes + mem.chunk_bytes);
    expect(mem.vector_bytes).toBeGreaterThan(0);
    expect(stats.body.index.memory).toMatchObject({ state: "serving", chunks: stats.body.chunks });
  });

  it("/metrics exports retrieval, ingestion, failure and count series", async () => {
    const text = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    const value = (name: string): number => {
      const m = text.match(new RegExp(`^${name} ([0-9.e+-]+)$`, "m"));
      if (!m) throw new Error(`${name} missing from /metrics`);
      return Number(m[1]);
    };
    const stats = await api("/api/rag/stats");
    expect(value("reflexia_rag_retrieval_duration_seconds_count")).toBeGreaterThan(5);
    expect(value("reflexia_rag_document_count")).toBe(3);
    expect(value("reflexia_rag_chunks")).toBe(stats.body.chunks);
    expect(value("reflexia_rag_memory_index_serving")).toBe(1);
    expect(value("reflexia_rag_memory_index_bytes")).toBe(stats.body.index.memory.bytes);
    // Ingested: 3 + unchanged + replaced + harbour + pdf + glacier, plus every rejected upload that reached the service.
    expect(value("reflexia_rag_ingestion_duration_seconds_count")).toBeGreaterThanOrEqual(8);
    // Rejected by the service: empty file, 0-byte PDF, binary, JSON over the limit, empty JSON.
    expect(value("reflexia_rag_ingestion_failures_total")).toBeGreaterThanOrEqual(5);
  });
});

describe("rag.embedding_model naming a store model", () => {
  it("embeds with that GGUF model (loaded with embedding: true) for ingest, query and rag answers", async () => {
    const h = await createTinyHome(["q4_0"]);
    const loaded = loadConfig({
      env: {},
      overrides: {
        home: h.home,
        "models.default": TINY,
        "server.host": "127.0.0.1",
        "server.port": 0,
        "server.metrics_port": 0,
        "scheduler.parallel": 1,
        "models.context_size": 2048,
        "rag.embedding_model": `${TINY}:q4_0`,
        "log.level": "warn",
      },
    });
    const s = await startServer({ loaded, store: h.store, logger: false, webDir: null, warmUp: false });
    try {
      const post = (path: string, json: unknown) =>
        fetch(`${s.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(json),
        });
      const stats = (await (await fetch(`${s.url}/api/rag/stats`)).json()) as any;
      // The tiny model's hidden size, not the builtin embedder's 384.
      expect(stats.embedder).toEqual({ id: `${TINY}:q4_0`, dim: 256 });
      const added = await post("/api/documents", { content: DOCS.quokka.content, title: DOCS.quokka.title });
      expect(added.status).toBe(201);
      const id = ((await added.json()) as any).document.id;
      const q = (await (await post("/api/rag/query", { query: "quokka Rottnest", hybrid: false })).json()) as any;
      expect(q.results[0].document_id).toBe(id);
      const chat = (await (
        await post("/v1/chat/completions", {
          model: TINY,
          messages: [{ role: "user", content: "quokkas?" }],
          max_tokens: 2,
          rag: true,
        })
      ).json()) as any;
      expect(chat.reflexia.sources[0].document_id).toBe(id);
    } finally {
      await s.close();
      await h.cleanup();
    }
  });
});
