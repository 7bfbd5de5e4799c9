// The model store over the HTTP API (app.inject over the production wiring, with the fake engine).
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeGgufHeader } from "../src/gguf/gguf-encoder.ts";
import { cleanupTempDirs, makeTempDir, snapshotStore, writeTinyGguf } from "./registry-fixtures.ts";
import { createFakeEngine } from "./support/fake-engine.ts";
import {
  buildTestApp,
  createTinyHome,
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
