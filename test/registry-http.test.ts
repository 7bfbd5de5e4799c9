// The model store over the HTTP API (app.inject over the production wiring, with the fake engine).
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeGgufHeader } from "../src/gguf/gguf-encoder.ts";
import { cleanupTempDirs, makeTempDir, snapshotStore, writeTinyGguf } from "./registry-fixtures.ts";
import { createFakeEngine } from "./support/fake-engine.ts";
import {
  buildTestApp,
  createTinyHome,
  errorOf,
  testConfig,
  TINY,
  type TestApp,
  type TinyHome,
} from "./support/server-fixture.ts";

let home: TinyHome;
let t: TestApp;

beforeAll(async () => {
  home = await createTinyHome(["q4_0", "q8_0"]);
  t = await buildTestApp({ store: home.store, engine: createFakeEngine(), config: testConfig(home.home) });
});
afterAll(async () => {
  await t?.app.close();
  await home?.cleanup();
  await cleanupTempDirs();
});

const digestOf = (b: Buffer): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Uploads `bytes` as Ollama clients do before a create with `files`; returns the digest. */
async function upload(bytes: Buffer): Promise<string> {
  const digest = digestOf(bytes);
  const res = await t.app.inject({
    method: "POST",
    url: `/api/blobs/${digest}`,
    headers: { "content-type": "application/octet-stream" },
    payload: bytes,
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return digest;
}

/**
 * The create `payload`, streamed and not: both are `status` with Ollama's one `{"error": …}` body (no progress line
 * first), and the store is as it was.
 */
async function expectRefusedBeforeStream(
  payload: Record<string, unknown>,
  status: number,
  message: string | RegExp,
): Promise<void> {
  const before = await snapshotStore(home.store);
  for (const stream of [true, false]) {
    const res = await t.app.inject({ method: "POST", url: "/api/create", payload: { ...payload, stream } });
    const what = `${JSON.stringify(payload)} stream ${stream}: ${res.body}`;
    expect(res.statusCode, what).toBe(status);
    expect(res.headers["content-type"], what).toMatch(/^application\/json/);
    const body = res.json() as { error: unknown; status?: unknown };
    expect(typeof body.error, what).toBe("string");
    expect(body.status, what).toBeUndefined();
    expect(body.error as string, what).toMatch(message);
  }
  expect(await snapshotStore(home.store)).toEqual(before);
}

// /api/create refuses before the first byte what it can know without long work (README, Security): names, a destination
// tag against the file's type, the uploaded GGUF's header (alignment, architecture, tensors), the source's existence.
// A streamed request then gets the same status and Ollama error body as a non-streamed one; only failures on the way
// arrive in the stream.
describe("/api/create: what needs no long work is refused before the first byte, streamed or not", () => {
  it("from a model, to a tag naming another quantization than the file's (the copy path)", async () => {
    await expectRefusedBeforeStream(
      { model: "cq4:q8_0", from: `${TINY}:q4_0` },
      400,
      'tag "q8_0" names the quantization q8_0, but the file is q4_0: use cq4:q4_0, or a tag that is not a quantization name',
    );
    // An untagged source to a tag is its default variant (q4_0 here).
    await expectRefusedBeforeStream({ model: "cq4:q8_0", from: TINY }, 400, /but the file is q4_0: use cq4:q4_0/);
  });

  it("with quantize, to a tag naming another quantization than the one asked for (refused before quantizing)", async () => {
    await expectRefusedBeforeStream(
      { model: "x:q8_0", from: `${TINY}:q8_0`, quantize: "q4_0" },
      400,
      'tag "q8_0" names the quantization q8_0, but the file is q4_0: use x:q4_0',
    );
  });

  it("from an uploaded GGUF whose general.alignment is 0, or that is no model (no architecture, no tensors)", async () => {
    const align0 = encodeGgufHeader(
      [
        ["general.architecture", { type: "string", value: "llama" }],
        ["general.alignment", { type: "u32", value: 0 }],
      ],
      [],
    );
    const a = await upload(align0);
    await expectRefusedBeforeStream(
      { model: "x", files: { "x.gguf": a } },
      422,
      `files.x.gguf (${a}): general.alignment is 0; it must be a power of two`,
    );
    // The 208-byte file of the QA report: magic, version 3, no tensors, no metadata.
    const bare = Buffer.alloc(208);
    bare.write("GGUF", 0, "latin1");
    bare.writeUInt32LE(3, 4);
    const b = await upload(bare);
    await expectRefusedBeforeStream(
      { model: "j1", files: { "j1.gguf": b } },
      422,
      `files.j1.gguf (${b}): not a model llama.cpp can load: it has no general.architecture (llama.cpp's loader requires it to know what model the file is) and no tensors (no weights to run)`,
    );
  });

  it("from an uploaded GGUF, to a tag naming another quantization than the file's or the quantize's", async () => {
    const f16 = await upload((await writeTinyGguf(makeTempDir(), 21)).bytes);
    await expectRefusedBeforeStream(
      { model: "up:q8_0", files: { "m.gguf": f16 } },
      400,
      'tag "q8_0" names the quantization q8_0, but the file is f16: use up:f16',
    );
    await expectRefusedBeforeStream(
      { model: "up:q8_0", files: { "m.gguf": f16 }, quantize: "q4_0" },
      400,
      'tag "q8_0" names the quantization q8_0, but the file is q4_0: use up:q4_0',
    );
    // The upload is still there for a create that fits.
    const made = await t.app.inject({
      method: "POST",
      url: "/api/create",
      payload: { model: "up:f16", files: { "m.gguf": f16 } },
    });
    expect(made.statusCode).toBe(200);
    expect(made.body.trim().split("\n").at(-1)).toBe('{"status":"success"}');
    expect((await home.store.resolve("up:f16")).quantization).toBe("f16");
  });

  it("from a model that is not there", async () => {
    await expectRefusedBeforeStream({ model: "x", from: `${TINY}:q5_k_m` }, 404, /not found/);
  });
});

const post = (url: string, payload: object, method: "POST" | "DELETE" = "POST") =>
  t.app.inject({ method, url, payload });

// A model reference whose tag is a quantization name is taken in any case (README: quantization names are taken in any
// case; Ollama users write `:Q4_K_M`): requests, show, delete, a copy or create source. Names are matched as spelled.
describe("a quantization tag in upper case names the stored variant", () => {
  it("/api/generate, /api/chat and /v1/chat/completions run the pinned variant", async () => {
    const gen = await post("/api/generate", {
      model: `${TINY}:Q8_0`,
      prompt: "hi",
      stream: false,
      options: { num_predict: 1 },
    });
    expect(gen.statusCode, gen.body).toBe(200);
    const chat = await post("/api/chat", {
      model: `${TINY}:Q4_0`,
      messages: [{ role: "user", content: "hi" }],
      stream: false,
      options: { num_predict: 1 },
    });
    expect(chat.statusCode, chat.body).toBe(200);
    const openai = await post("/v1/chat/completions", {
      model: `${TINY}:Q8_0`,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 1,
    });
    expect(openai.statusCode, openai.body).toBe(200);
    // Loaded under the stored spelling: one variant each, no second copy for the other spelling.
    const ps = (await t.app.inject({ url: "/api/ps" })).json().models.map((m: { name: string }) => m.name);
    expect(ps.sort()).toEqual([`${TINY}:q4_0`, `${TINY}:q8_0`]);
  });

  it("/api/show, and /api/copy, /api/create and /api/delete by it", async () => {
    const show = await post("/api/show", { model: `${TINY}:Q8_0` });
    expect(show.statusCode, show.body).toBe(200);
    expect(show.json().details.quantization_level.toLowerCase()).toBe("q8_0");
    expect((await post("/api/copy", { source: `${TINY}:Q4_0`, destination: "cased" })).statusCode).toBe(200);
    const created = await post("/api/create", { model: "cased", from: `${TINY}:Q8_0`, stream: false });
    expect(created.statusCode, created.body).toBe(200);
    expect((await home.store.variants("cased")).map((v) => v.tag)).toEqual(["q4_0", "q8_0"]);
    expect((await post("/api/delete", { model: "cased:Q4_0" }, "DELETE")).statusCode).toBe(200);
    expect((await post("/api/delete", { model: "cased:Q8_0" }, "DELETE")).statusCode).toBe(200);
    expect(await home.store.variants("cased")).toEqual([]);
  });

  it("a model name in another case is another name (not found)", async () => {
    const res = await post("/api/show", { model: `${TINY.toUpperCase()}:q4_0` });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res.json()).code).toBe("RFX_MODEL_NOT_FOUND");
  });
});
