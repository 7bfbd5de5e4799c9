// Pull by name over Ollama's registry protocol from a real loopback registry: progress objects, text layers kept
// as settings, resume after a cut, digest verification, refusal of non-GGUF and multimodal layers, hf.co names.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishedParameterProblem } from "../src/http/routes/ollama/check-options.ts";
import { CONFIG_DEFAULTS } from "../src/config/index.ts";
import { createModelStore, type ModelStore, type RegistryPullProgress } from "../src/registry/index.ts";
import type { Scheduler } from "../src/scheduler/index.ts";
import { createModelService } from "../src/services/model-service.ts";
import { cleanupTempDirs, makeTempDir, writeTinyGguf } from "./registry-fixtures.ts";
import { sha256Digest, startLoopbackRegistry, type LoopbackRegistry } from "./support/loopback-registry.ts";

const MODEL = "application/vnd.ollama.image.model";
const TEMPLATE = "{{ if .System }}<|system|>{{ .System }}{{ end }}<|user|>{{ .Prompt }}<|assistant|>";
let registry: LoopbackRegistry;
let gguf: Buffer;

beforeAll(async () => {
  const work = makeTempDir();
  gguf = (await writeTinyGguf(work, 5)).bytes;
  registry = await startLoopbackRegistry([
    {
      repository: "library/tiny",
      tag: "latest",
      layers: [
        { mediaType: MODEL, bytes: gguf },
        { mediaType: "application/vnd.ollama.image.template", bytes: Buffer.from(TEMPLATE) },
        { mediaType: "application/vnd.ollama.image.system", bytes: Buffer.from("You are terse.") },
        {
          mediaType: "application/vnd.ollama.image.params",
          bytes: Buffer.from('{"temperature":0.2,"stop":["<|user|>"]}'),
        },
        { mediaType: "application/vnd.ollama.image.license", bytes: Buffer.from("MIT") },
      ],
    },
    { repository: "owner/Tiny-GGUF", tag: "Q8_0", layers: [{ mediaType: MODEL, bytes: gguf }] },
    {
      repository: "library/badparams",
      tag: "latest",
      layers: [
        { mediaType: MODEL, bytes: gguf },
        { mediaType: "application/vnd.ollama.image.params", bytes: Buffer.from('{"temperature":0.2,"top_p":0}') },
      ],
    },
    {
      repository: "library/safetensors",
      tag: "latest",
      layers: [{ mediaType: MODEL, bytes: Buffer.from("{}".repeat(500)) }],
    },
    {
      repository: "library/vision",
      tag: "latest",
      layers: [
        { mediaType: MODEL, bytes: gguf },
        { mediaType: "application/vnd.ollama.image.projector", bytes: Buffer.from("proj") },
      ],
    },
    { repository: "library/corrupt", tag: "latest", layers: [{ mediaType: MODEL, bytes: gguf, corrupt: true }] },
    // A valid GGUF that is no model: magic, version 3, no tensors, no metadata (208 bytes).
    { repository: "library/headeronly", tag: "latest", layers: [{ mediaType: MODEL, bytes: headerOnlyGguf() }] },
  ]);
});
afterAll(async () => {
  await registry?.close();
  await cleanupTempDirs();
});

function freshStore(): ModelStore {
  return createModelStore({ home: makeTempDir("rfx-regpull-") });
}
const bases = () => ({ ollama: registry.url, huggingface: `${registry.url}/` });

describe("pulls of one name at once (the model service, as /api/pull and reflexia pull use it)", () => {
  const service = (store: ModelStore) =>
    createModelService({
      store,
      scheduler: {} as Scheduler, // pulling loads nothing
      registry: {
        ...CONFIG_DEFAULTS.registry,
        ollama_base_url: registry.url,
        huggingface_base_url: `${registry.url}/`,
      },
    });

  it("a second pull of the same name joins the first, as Ollama's do, instead of failing on its lock", async () => {
    const models = service(freshStore());
    registry.requests.length = 0;
    const heard: number[] = [0, 0];
    const [a, b] = await Promise.all([0, 1].map((i) => models.pull("tiny", { onProgress: () => heard[i]++ })));
    expect(b.manifest.digest).toBe(a.manifest.digest);
    expect(registry.requests.filter((r) => r.includes("/manifests/"))).toEqual([
      "GET /v2/library/tiny/manifests/latest",
    ]);
    expect(heard.every((n) => n > 0)).toBe(true);
  });

  it("one puller cancelling leaves the download to the other; the last one cancelling stops it", async () => {
    const models = service(freshStore());
    const leaving = new AbortController();
    const first = models.pull("tiny", { signal: leaving.signal });
    const second = models.pull("tiny");
    leaving.abort();
    await expect(first).rejects.toMatchObject({ code: "RFX_CANCELLED" });
    expect((await second).manifest.name).toBe("tiny");
    const alone = new AbortController();
    const last = models.pull("tiny:latest", { signal: alone.signal });
    alone.abort();
    await expect(last).rejects.toMatchObject({ code: "RFX_CANCELLED" });
  });
});

describe("pull by name from an Ollama-protocol registry", () => {
  it("fetches the manifest then each blob by digest, streams Ollama's progress objects, keeps the text layers", async () => {
    const store = freshStore();
    const events: RegistryPullProgress[] = [];
    registry.requests.length = 0;
    const r = await store.pullFromRegistry("tiny", { bases: bases(), onProgress: (p) => events.push(p) });
    expect(registry.requests[0]).toBe("GET /v2/library/tiny/manifests/latest");
    expect(registry.requests).toContain(`GET /v2/library/tiny/blobs/${sha256Digest(gguf)}`);
    expect(events[0]).toEqual({ status: "pulling manifest" });
    const modelEvents = events.filter((e) => e.digest === sha256Digest(gguf));
    expect(modelEvents.at(-1)).toEqual({
      status: `pulling ${sha256Digest(gguf).slice(7, 19)}`,
      digest: sha256Digest(gguf),
      total: gguf.length,
      completed: gguf.length,
    });
    expect(events.slice(-3).map((e) => e.status)).toEqual(["verifying sha256 digest", "writing manifest", "success"]);
    expect(r.manifest).toMatchObject({
      name: "tiny",
      tag: "latest",
      digest: sha256Digest(gguf),
      source: { kind: "registry" },
    });
    expect(r.manifest.modelfile).toEqual({
      template: TEMPLATE,
      system: "You are terse.",
      parameters: { temperature: 0.2, stop: ["<|user|>"] },
      license: ["MIT"],
    });
    expect((await store.resolve("tiny:latest")).sizeBytes).toBe(gguf.length);
    // Nothing left behind in partial/.
    expect(readdirSync(join(store.root, "partial")).filter((f) => !f.endsWith(".lock"))).toEqual([]);
  });

  it("a params layer's parameter no request could carry is left out, said so in the progress", async () => {
    const store = createModelStore({ home: makeTempDir("rfx-regpull-"), parameterProblem: publishedParameterProblem });
    const events: RegistryPullProgress[] = [];
    const r = await store.pullFromRegistry("badparams", { bases: bases(), onProgress: (p) => events.push(p) });
    expect(r.manifest.modelfile).toEqual({ parameters: { temperature: 0.2 } });
    expect(events.map((e) => e.status)).toContain("parameter top_p left out: it must be > 0 (got 0)");
  });

  it("resumes a cut download with a Range request", async () => {
    const store = freshStore();
    registry.cutNextBlobAfter = 4096;
    await expect(store.pullFromRegistry("tiny", { bases: bases() })).rejects.toMatchObject({
      code: "RFX_DOWNLOAD_FAILED",
    });
    expect(existsSync(join(store.root, "manifests", "tiny"))).toBe(false);
    registry.requests.length = 0;
    const r = await store.pullFromRegistry("tiny:latest", { bases: bases() });
    expect(r.resumedBytes).toBe(4096);
    expect(registry.requests).toContain(`GET /v2/library/tiny/blobs/${sha256Digest(gguf)} [bytes=4096-]`);
    expect(readFileSync(join(store.root, "blobs", `sha256-${sha256Digest(gguf).slice(7)}`)).equals(gguf)).toBe(true);
  });

  it("hf.co/OWNER/REPO:QUANT resolves against the Hugging Face base", async () => {
    const store = freshStore();
    registry.requests.length = 0;
    const r = await store.pullFromRegistry("hf.co/owner/Tiny-GGUF:Q8_0", {
      bases: { ollama: "http://127.0.0.1:9", huggingface: registry.url },
    });
    expect(registry.requests[0]).toBe("GET /v2/owner/Tiny-GGUF/manifests/Q8_0");
    expect(r.manifest).toMatchObject({ name: "hf.co/owner/Tiny-GGUF", tag: "Q8_0" });
  });

  it("insecure: an http:// registry name only with it, and plain http to the configured registry (as Ollama)", async () => {
    const store = freshStore();
    const nowhere = { ollama: "http://127.0.0.1:9", huggingface: "http://127.0.0.1:9" };
    const host = new URL(registry.url).host;
    const byUrl = `${registry.url}/library/tiny:latest`;
    await expect(store.pullFromRegistry(byUrl, { bases: nowhere })).rejects.toMatchObject({
      code: "RFX_VALIDATION",
      message: expect.stringContaining("needs insecure: true"),
    });
    await expect(
      store.pullFromRegistry(`ftp://${host}/library/tiny`, { bases: nowhere, insecure: true }),
    ).rejects.toMatchObject({
      code: "RFX_VALIDATION",
      message: expect.stringContaining('invalid protocol scheme "ftp"'),
    });
    expect(await store.list()).toEqual([]);
    registry.requests.length = 0;
    const r = await store.pullFromRegistry(byUrl, { bases: nowhere, insecure: true });
    expect(registry.requests[0]).toBe("GET /v2/library/tiny/manifests/latest");
    expect(r.manifest).toMatchObject({ name: `${host.replace(":", "_")}/library/tiny`, tag: "latest" });
    // The configured registry named https://: refused by a plain-http server without insecure, reached with it.
    const https = { ollama: registry.url.replace(/^http:/, "https:"), huggingface: nowhere.huggingface };
    const tls = await store.pullFromRegistry("tiny", { bases: https }).catch((e: Error) => e);
    expect(tls).toMatchObject({ code: "RFX_DOWNLOAD_FAILED" });
    // One sentence naming the remedy, not OpenSSL's multi-line text.
    expect((tls as Error).message).toBe(
      `pull model manifest ${https.ollama}/v2/library/tiny/manifests/latest: the server answered in plain HTTP, not HTTPS; if it speaks plain HTTP, pull with --insecure (the API's insecure: true)`,
    );
    const plain = await store.pullFromRegistry("tiny", { bases: https, insecure: true });
    expect(plain.manifest).toMatchObject({ name: "tiny", tag: "latest" });
  });

  it("host:port/ns/model is stored with the port as '_', says so, and the pulled spelling finds it everywhere", async () => {
    const store = freshStore();
    const host = new URL(registry.url).host;
    const stored = `${host.replace(":", "_")}/library/tiny`;
    const events: RegistryPullProgress[] = [];
    const r = await store.pullFromRegistry(`${host}/library/tiny`, {
      bases: bases(),
      insecure: true,
      onProgress: (p) => events.push(p),
    });
    expect(r.manifest).toMatchObject({ name: stored, tag: "latest" });
    expect(events.slice(-2).map((e) => e.status)).toEqual([`stored as ${stored}:latest`, "success"]);
    for (const ref of [`${host}/library/tiny`, `${host}/library/tiny:latest`]) {
      expect((await store.resolve(ref)).manifest.digest, ref).toBe(sha256Digest(gguf));
      expect((await store.show(ref)).name, ref).toBe(stored);
    }
    await store.copy(`${host}/library/tiny`, "copied");
    expect((await store.remove(`${host}/library/tiny`)).map((m) => `${m.name}:${m.tag}`)).toEqual([`${stored}:latest`]);
    expect((await store.list()).map((m) => m.name)).toEqual(["copied"]);
  });

  it("refuses what it cannot serve, and leaves the store as it was", async () => {
    const store = freshStore();
    await expect(store.pullFromRegistry("nope", { bases: bases() })).rejects.toMatchObject({
      code: "RFX_MODEL_NOT_FOUND",
      message: expect.stringContaining('model "nope:latest" not found'),
    });
    await expect(store.pullFromRegistry("safetensors", { bases: bases() })).rejects.toMatchObject({
      code: "RFX_INVALID_GGUF",
      message: expect.stringContaining("is not a GGUF file"),
    });
    registry.requests.length = 0;
    await expect(store.pullFromRegistry("vision", { bases: bases() })).rejects.toMatchObject({
      code: "RFX_UNSUPPORTED_MEDIA",
      message: expect.stringContaining("vision projector"),
    });
    expect(registry.requests.some((r) => r.includes("/blobs/"))).toBe(false);
    await expect(store.pullFromRegistry("corrupt", { bases: bases() })).rejects.toMatchObject({
      code: "RFX_DOWNLOAD_FAILED",
      message: expect.stringContaining("digest mismatch"),
    });
    await expect(store.pullFromRegistry("a/b/c/d", { bases: bases() })).rejects.toMatchObject({
      code: "RFX_VALIDATION",
    });
    await expect(store.pullFromRegistry("headeronly", { bases: bases() })).rejects.toMatchObject({
      code: "RFX_INVALID_GGUF",
      message: expect.stringMatching(
        /^the model layer sha256:\w+ of headeronly:latest is not a model llama\.cpp can load: it has no general\.architecture .* and no tensors/,
      ),
    });
    expect(await store.list()).toEqual([]);
    expect(readdirSync(join(store.root, "blobs"))).toEqual([]);
    expect(readdirSync(join(store.root, "partial")).filter((f) => !f.endsWith(".lock"))).toEqual([]);
  });
});

function headerOnlyGguf(): Buffer {
  const b = Buffer.alloc(208);
  b.write("GGUF", 0, "latin1");
  b.writeUInt32LE(3, 4);
  return b;
}
