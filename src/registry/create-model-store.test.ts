import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countParameters, MODEL_SHAPES } from "../gguf/index.ts";
import { cleanupTempDirs, makeTempDir, removeDir, snapshotStore, writeTinyGguf } from "../../test/registry-fixtures.ts";
import { createModelStore, type ModelStore } from "./index.ts";

let work: string;
let tiny: { path: string; sha256: string; bytes: Buffer };
let other: { path: string; sha256: string; bytes: Buffer };

beforeAll(async () => {
  work = makeTempDir();
  tiny = await writeTinyGguf(work, 7);
  other = await writeTinyGguf(work, 8);
});
afterAll(() => cleanupTempDirs());

function freshStore(defaultQuantization?: string): ModelStore {
  return createModelStore({ home: makeTempDir("rfx-home-"), defaultQuantization });
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ name: "ReflexiaError", code });
}

describe("createModelStore: add / list / resolve / show", () => {
  it("adds a GGUF as a content-addressed blob with a manifest, tag defaulting to the file type", async () => {
    const store = freshStore();
    const m = await store.add(tiny.path, { name: "tiny" });
    expect(m).toMatchObject({
      name: "tiny",
      tag: "f16",
      quantization: "f16",
      fileType: "f16",
      format: "gguf",
      architecture: "llama",
      digest: `sha256:${tiny.sha256}`,
      sizeBytes: tiny.bytes.length,
    });
    expect(m.source).toEqual({ kind: "file", from: tiny.path });
    expect(m.parameterCount).toBe(countParameters(MODEL_SHAPES.tiny));
    expect(m.contextLength).toBe(MODEL_SHAPES.tiny.nCtx);
    const blob = join(store.root, "blobs", `sha256-${tiny.sha256}`);
    expect(readFileSync(blob).equals(tiny.bytes)).toBe(true);
    const onDisk = JSON.parse(readFileSync(join(store.root, "manifests", "tiny", "f16.json"), "utf8"));
    expect(onDisk).toEqual(m);
    const list = await store.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: "tiny", totalBytes: tiny.bytes.length });
    expect(list[0].variants.map((v) => v.tag)).toEqual(["f16"]);
    expect(readdirSync(join(store.root, "tmp"))).toEqual([]);
  });

  it("resolves name:tag to the blob, and a bare name to the configured default quantization", async () => {
    const store = freshStore("q8_0");
    await store.add(tiny.path, { name: "m", tag: "f16" });
    await store.quantize("m", ["q8_0"]);
    const exact = await store.resolve("m:f16");
    expect(exact).toMatchObject({ name: "m", tag: "f16", quantization: "f16", sizeBytes: tiny.bytes.length });
    expect(readFileSync(exact.path).equals(tiny.bytes)).toBe(true);
    expect((await store.resolve("m")).tag).toBe("q8_0");
    expect((await store.variants("m")).map((v) => v.tag).sort()).toEqual(["f16", "q8_0"]);
    await expectCode(store.resolve("m:q4_0"), "RFX_MODEL_NOT_FOUND");
    await expectCode(store.resolve("nope"), "RFX_MODEL_NOT_FOUND");
    await expectCode(store.resolve("bad name!"), "RFX_VALIDATION");
  });

  it("a tag that names a quantization must be the file's; other tags are labels", async () => {
    const store = freshStore();
    await expect(store.add(tiny.path, { name: "m", tag: "q8_0" })).rejects.toMatchObject({
      code: "RFX_VALIDATION",
      message: expect.stringContaining('tag "q8_0" names the quantization q8_0, but the file is f16'),
    });
    await expect(store.add(tiny.path, { name: "m", tag: "Q4_K_M" })).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    expect(await store.list()).toEqual([]);
    await store.add(tiny.path, { name: "m", tag: "F16" });
    await store.add(tiny.path, { name: "m", tag: "7b-instruct" });
    expect((await store.variants("m")).map((v) => v.tag)).toEqual(["7b-instruct", "F16"]);
  });

  it("falls back to the smallest variant when the default quantization is absent", async () => {
    const store = freshStore("q4_0");
    await store.add(tiny.path, { name: "m", tag: "a" });
    expect((await store.resolve("m")).tag).toBe("a");
  });

  it("show reports header facts and a memory estimate above the file size", async () => {
    const store = freshStore();
    await store.add(tiny.path, { name: "tiny" });
    const d = await store.show("tiny");
    expect(d.gguf).toMatchObject({
      architecture: "llama",
      parameterCount: countParameters(MODEL_SHAPES.tiny),
      contextLength: 4096,
      fileType: "f16",
      blockCount: 2,
    });
    expect(d.contextSize).toBe(4096);
    expect(d.estimatedMemory.weightsBytes).toBe(tiny.bytes.length);
    // KV cache of tiny at 4096 cells: 2 (K,V) · 2 layers · 4096 · 128 (n_embd_kv) · 2 bytes.
    expect(d.estimatedMemory.kvCacheBytes).toBe(2 * 2 * 4096 * 128 * 2);
    expect(d.estimatedMemoryBytes).toBeGreaterThan(d.sizeBytes + d.estimatedMemory.kvCacheBytes);
    expect(d.variants).toEqual(["f16"]);
  });

  it("rejects a second add of the same name:tag unless forced, and force swaps the blob", async () => {
    const store = freshStore();
    await store.add(tiny.path, { name: "m" });
    const before = await snapshotStore(store);
    await expectCode(store.add(other.path, { name: "m" }), "RFX_MODEL_EXISTS");
    expect(await snapshotStore(store)).toEqual(before);
    const m = await store.add(other.path, { name: "m", force: true });
    expect(m.digest).toBe(`sha256:${other.sha256}`);
    expect(readdirSync(join(store.root, "blobs"))).toEqual([`sha256-${other.sha256}`]);
  });
});

describe("createModelStore: remove and copy share blobs safely", () => {
  it("copy shares the blob; the blob goes only when its last manifest goes", async () => {
    const store = freshStore();
    await store.add(tiny.path, { name: "a" });
    const [c] = await store.copy("a", "b");
    expect(c).toMatchObject({
      name: "b",
      tag: "f16",
      digest: `sha256:${tiny.sha256}`,
      source: { kind: "copy", from: "a:f16" },
    });
    const blobs = () => readdirSync(join(store.root, "blobs"));
    expect(blobs()).toEqual([`sha256-${tiny.sha256}`]);
    await expectCode(store.copy("a", "b"), "RFX_MODEL_EXISTS");
    // A quantization-named tag must say what the file is, as add and pull hold it.
    await expect(store.copy("a", "c:q4_0")).rejects.toMatchObject({
      code: "RFX_VALIDATION",
      message:
        'tag "q4_0" names the quantization q4_0, but the file is f16: use c:f16, or a tag that is not a quantization name',
    });
    expect((await store.list()).map((m) => m.name)).toEqual(["a", "b"]);
    await store.remove("a");
    expect(blobs()).toEqual([`sha256-${tiny.sha256}`]);
    expect((await store.list()).map((m) => m.name)).toEqual(["b"]);
    await store.remove("b:f16");
    expect(blobs()).toEqual([]);
    expect(await store.list()).toEqual([]);
    // Empty name directories are cleaned up too.
    expect(readdirSync(join(store.root, "manifests"))).toEqual([]);
  });

  it("copy name:tag to another tag, and remove name removes every variant", async () => {
    const store = freshStore();
    await store.add(tiny.path, { name: "a", tag: "x" });
    await store.add(other.path, { name: "a", tag: "y" });
    await store.copy("a:x", "a:z");
    expect((await store.variants("a")).map((v) => v.tag).sort()).toEqual(["x", "y", "z"]);
    const removed = await store.remove("a");
    expect(removed.map((m) => m.tag).sort()).toEqual(["x", "y", "z"]);
    expect(readdirSync(join(store.root, "blobs"))).toEqual([]);
  });

  it("supports namespaced names (user/model) without clashing with a parent name", async () => {
    const store = freshStore();
    await store.add(tiny.path, { name: "user", tag: "t" });
    await store.add(tiny.path, { name: "user/model", tag: "t" });
    expect((await store.list()).map((m) => m.name)).toEqual(["user", "user/model"]);
    await store.remove("user");
    expect((await store.list()).map((m) => m.name)).toEqual(["user/model"]);
    expect(existsSync(join(store.root, "blobs", `sha256-${tiny.sha256}`))).toBe(true);
  });

  it("collects orphan blobs and temp files of dead processes left by a crash", async () => {
    const store = freshStore();
    await store.add(tiny.path, { name: "a" });
    await store.add(other.path, { name: "b" });
    const orphan = join(store.root, "blobs", `sha256-${"0".repeat(64)}`);
    writeFileSync(orphan, "left by a crash between blob rename and manifest write");
    // pid 2^22+1 is above Linux's pid_max default, so no live process owns it.
    const deadTmp = join(store.root, "tmp", `.tmp-${2 ** 22 + 1}-abc.gguf`);
    writeFileSync(deadTmp, "partial copy");
    await store.remove("b");
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(deadTmp)).toBe(false);
    expect(readdirSync(join(store.root, "blobs"))).toEqual([`sha256-${tiny.sha256}`]);
  });
});

describe("createModelStore: a tag that is a quantization name is looked up in any case", () => {
  it("resolve, show, copy from and remove find the stored spelling; a label and a name are matched as spelled", async () => {
    const store = freshStore();
    await store.add(tiny.path, { name: "m", tag: "f16" });
    // A tag published in upper case (hf.co/…:Q8_0 is stored as published).
    await store.add(other.path, { name: "m", tag: "F16-label" });
    await store.copy("m:f16", "p:F16");
    expect((await store.resolve("m:F16")).manifest).toMatchObject({ name: "m", tag: "f16" });
    expect((await store.resolve("p:f16")).manifest).toMatchObject({ name: "p", tag: "F16" });
    expect((await store.show("m:F16")).tag).toBe("f16");
    await expectCode(store.resolve("m:f16-LABEL"), "RFX_MODEL_NOT_FOUND");
    await expectCode(store.resolve("M:f16"), "RFX_MODEL_NOT_FOUND");
    const [c] = await store.copy("m:F16", "c");
    expect(c).toMatchObject({ name: "c", tag: "f16", source: { kind: "copy", from: "m:f16" } });
    expect((await store.remove("c:F16")).map((r) => `${r.name}:${r.tag}`)).toEqual(["c:f16"]);
    expect((await store.remove("p:f16")).map((r) => `${r.name}:${r.tag}`)).toEqual(["p:F16"]);
    expect((await store.list()).map((l) => l.name)).toEqual(["m"]);
  });
});

describe("createModelStore: an empty home", () => {
  it("lists nothing and fails lookups without creating anything", async () => {
    const home = makeTempDir("rfx-home-");
    const store = createModelStore({ home });
    expect(await store.list()).toEqual([]);
    await expectCode(store.remove("x"), "RFX_MODEL_NOT_FOUND");
    await expectCode(store.resolve("x:y"), "RFX_MODEL_NOT_FOUND");
    await expectCode(store.show("x"), "RFX_MODEL_NOT_FOUND");
    expect(readdirSync(home)).toEqual([]);
    await removeDir(home);
  });
});

describe("createModelStore: failures leave the store unchanged", () => {
  let store: ModelStore;
  let before: Awaited<ReturnType<typeof snapshotStore>>;
  beforeAll(async () => {
    store = freshStore();
    await store.add(tiny.path, { name: "keep" });
    await store.copy("keep", "keep2");
    before = await snapshotStore(store);
  });

  it("add of a file that is not GGUF", async () => {
    const p = join(work, "notes.txt");
    writeFileSync(p, "hello, I am not a model\n".repeat(100));
    await expectCode(store.add(p, { name: "bad" }), "RFX_INVALID_GGUF");
    expect(await snapshotStore(store)).toEqual(before);
  });

  it("add of a truncated GGUF", async () => {
    for (const keep of [16, 4096, Math.floor(other.bytes.length / 2), other.bytes.length - 1]) {
      const p = join(work, `truncated-${keep}.gguf`);
      writeFileSync(p, other.bytes.subarray(0, keep));
      await expectCode(store.add(p, { name: "bad" }), "RFX_INVALID_GGUF");
    }
    expect(await snapshotStore(store)).toEqual(before);
  });

  it("add of a missing path or a directory", async () => {
    await expectCode(store.add(join(work, "does-not-exist.gguf"), { name: "bad" }), "RFX_NOT_FOUND");
    await mkdir(join(work, "a-dir"), { recursive: true });
    await expectCode(store.add(join(work, "a-dir"), { name: "bad" }), "RFX_INVALID_GGUF");
    expect(await snapshotStore(store)).toEqual(before);
  });

  it("add with an invalid name or tag", async () => {
    await expectCode(store.add(other.path, { name: "../escape" }), "RFX_VALIDATION");
    await expectCode(store.add(other.path, { name: "ok", tag: "a/b" }), "RFX_VALIDATION");
    expect(await snapshotStore(store)).toEqual(before);
  });

  it("rm of an unknown name or tag", async () => {
    await expectCode(store.remove("unknown"), "RFX_MODEL_NOT_FOUND");
    await expectCode(store.remove("keep:q4_0"), "RFX_MODEL_NOT_FOUND");
    expect(await snapshotStore(store)).toEqual(before);
  });

  it("copy from an unknown model", async () => {
    await expectCode(store.copy("unknown", "x"), "RFX_MODEL_NOT_FOUND");
    expect(await snapshotStore(store)).toEqual(before);
  });
});
