// Imports from a fake Ollama models directory built the way Ollama lays it out (manifests → sha256-named blobs).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModelStore, OLLAMA_MODEL_MEDIA_TYPE, readOllamaModels } from "../src/registry/index.ts";
import { publishedParameterProblem } from "../src/http/routes/ollama/check-options.ts";
import { cleanupTempDirs, makeTempDir, sha256, snapshotStore, writeTinyGguf } from "./registry-fixtures.ts";

let work: string;
let ollama: string;
let gguf: { path: string; sha256: string; bytes: Buffer };

function writeManifest(rel: string, layers: { mediaType: string; digest: string; size: number }[]): void {
  const p = join(ollama, "manifests", rel);
  mkdirSync(join(p, ".."), { recursive: true });
  const config = {
    mediaType: "application/vnd.docker.container.image.v1+json",
    digest: `sha256:${"c".repeat(64)}`,
    size: 2,
  };
  writeFileSync(
    p,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config,
      layers,
    }),
  );
}

beforeAll(async () => {
  work = makeTempDir();
  gguf = await writeTinyGguf(work, 21);
  ollama = join(work, "ollama-models");
  mkdirSync(join(ollama, "blobs"), { recursive: true });
  writeFileSync(join(ollama, "blobs", `sha256-${gguf.sha256}`), gguf.bytes);
  const license = Buffer.from("MIT license text");
  writeFileSync(join(ollama, "blobs", `sha256-${sha256(license)}`), license);
  const model = { mediaType: OLLAMA_MODEL_MEDIA_TYPE, digest: `sha256:${gguf.sha256}`, size: gguf.bytes.length };
  const lic = {
    mediaType: "application/vnd.ollama.image.license",
    digest: `sha256:${sha256(license)}`,
    size: license.length,
  };
  writeManifest("registry.ollama.ai/library/tinyllama/latest", [model, lic]);
  writeManifest("registry.ollama.ai/library/tinyllama/1.1b-q4", [model]);
  writeManifest("registry.ollama.ai/someone/custom/v2", [model]);
  writeManifest("registry.ollama.ai/library/ghost/latest", [{ ...model, digest: `sha256:${"d".repeat(64)}` }]);
  writeManifest("registry.ollama.ai/library/adapter-only/latest", [lic]);
  // A blob whose bytes do not match its digest name must not be imported.
  const fake = "e".repeat(64);
  writeFileSync(join(ollama, "blobs", `sha256-${fake}`), gguf.bytes);
  writeManifest("registry.ollama.ai/library/tampered/latest", [{ ...model, digest: `sha256:${fake}` }]);
});
afterAll(() => cleanupTempDirs());

describe("readOllamaModels", () => {
  it("maps Ollama names to Reflexia names and finds the model layer's blob", async () => {
    const entries = await readOllamaModels(ollama);
    const byName = Object.fromEntries(entries.map((e) => [e.ollamaName, e]));
    expect(byName["tinyllama:latest"]).toMatchObject({
      name: "tinyllama",
      tag: "latest",
      digest: `sha256:${gguf.sha256}`,
      blobPath: join(ollama, "blobs", `sha256-${gguf.sha256}`),
    });
    expect(byName["someone/custom:v2"]).toMatchObject({ name: "someone/custom", tag: "v2" });
    expect(byName["ghost:latest"].problem).toMatch(/missing/);
    expect(byName["adapter-only:latest"].problem).toMatch(/no model layer/);
  });

  it("fails with RFX_NOT_FOUND for a directory without manifests", async () => {
    await expect(readOllamaModels(join(work, "nowhere"))).rejects.toMatchObject({ code: "RFX_NOT_FOUND" });
  });
});

describe("store.importOllama", () => {
  it("adds every importable model as a variant, shares the blob, and skips the rest with reasons", async () => {
    const store = createModelStore({ home: makeTempDir("rfx-home-") });
    const r = await store.importOllama(ollama);
    expect(r.imported.map((m) => `${m.name}:${m.tag}`).sort()).toEqual([
      "someone/custom:v2",
      "tinyllama:1.1b-q4",
      "tinyllama:latest",
    ]);
    for (const m of r.imported)
      expect(m).toMatchObject({
        digest: `sha256:${gguf.sha256}`,
        fileType: "f16",
        architecture: "llama",
        source: { kind: "ollama" },
      });
    const skipped = Object.fromEntries(r.skipped.map((s) => [s.ollamaName, s.reason]));
    expect(Object.keys(skipped).sort()).toEqual(["adapter-only:latest", "ghost:latest", "tampered:latest"]);
    expect(skipped["tampered:latest"]).toMatch(/sha256/);
    expect(readFileSync((await store.resolve("tinyllama:latest")).path).equals(gguf.bytes)).toBe(true);
    expect((await store.list()).map((m) => m.name)).toEqual(["someone/custom", "tinyllama"]);

    // Importing again changes nothing and says why.
    const before = await snapshotStore(store);
    const again = await store.importOllama(ollama);
    expect(again.imported).toEqual([]);
    expect(again.skipped.find((s) => s.ollamaName === "tinyllama:latest")?.reason).toMatch(/already imported/);
    expect(await snapshotStore(store)).toEqual(before);
  });
});

describe("store.importOllama keeps the text layers, as pull does", () => {
  it("stores template, system, params and license as the model's settings; a parameter no request could carry is left out, said so", async () => {
    const dir = join(work, "ollama-chatty");
    mkdirSync(join(dir, "blobs"), { recursive: true });
    writeFileSync(join(dir, "blobs", `sha256-${gguf.sha256}`), gguf.bytes);
    const text = (kind: string, body: string) => {
      const bytes = Buffer.from(body);
      writeFileSync(join(dir, "blobs", `sha256-${sha256(bytes)}`), bytes);
      return {
        mediaType: `application/vnd.ollama.image.${kind}`,
        digest: `sha256:${sha256(bytes)}`,
        size: bytes.length,
      };
    };
    const model = { mediaType: OLLAMA_MODEL_MEDIA_TYPE, digest: `sha256:${gguf.sha256}`, size: gguf.bytes.length };
    const layers = [
      model,
      text("template", "{{ .System }} {{ .Prompt }}"),
      text("system", "You are terse."),
      text("params", JSON.stringify({ temperature: 0.1, stop: ["<|user|>"], top_p: 0, num_gpu: 99 })),
      text("license", "MIT"),
    ];
    const at = ollama;
    ollama = dir;
    try {
      writeManifest("registry.ollama.ai/library/chatty/latest", layers);
    } finally {
      ollama = at;
    }
    const store = createModelStore({ home: makeTempDir("rfx-home-"), parameterProblem: publishedParameterProblem });
    const r = await store.importOllama(dir);
    expect(r.skipped).toEqual([]);
    expect(r.imported.map((m) => m.modelfile)).toEqual([
      {
        template: "{{ .System }} {{ .Prompt }}",
        system: "You are terse.",
        parameters: { temperature: 0.1, stop: ["<|user|>"], num_gpu: 99 },
        license: ["MIT"],
      },
    ]);
    expect((await store.resolve("chatty")).manifest.modelfile?.system).toBe("You are terse.");
    expect(r.warnings).toEqual([
      { ollamaName: "chatty:latest", warning: expect.stringMatching(/^parameter top_p left out: it must be > 0/) },
    ]);
  });
});
