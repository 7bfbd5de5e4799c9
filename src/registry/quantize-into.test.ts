import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupTempDirs, makeTempDir, snapshotStore, writeTinyGguf } from "../../test/registry-fixtures.ts";
import { createModelStore, type ModelStore } from "./index.ts";

let store: ModelStore;
let f16File: string;

beforeAll(async () => {
  f16File = (await writeTinyGguf(makeTempDir(), 7)).path;
  store = createModelStore({ home: makeTempDir("rfx-home-") });
  await store.add(f16File, {
    name: "src",
    modelfile: { system: "Be terse.", parameters: { temperature: 0.5 } },
  });
  await store.quantize("src", ["q4_0"]);
});
afterAll(() => cleanupTempDirs());

/** The source model, byte for byte: its manifests and the blobs they name. */
async function sourceState() {
  const snap = await snapshotStore(store);
  const files = Object.entries(snap.files).filter(([p]) => p.startsWith("manifests/src/"));
  const src = await store.variants("src");
  return { files, src };
}

describe("store.quantizeInto", () => {
  it("quantizes the most precise variant into the new model's own blob, with the source's settings under the given ones, leaving the source as it was", async () => {
    const before = await sourceState();
    const m = await store.quantizeInto({ model: "src" }, "q8_0", "mine", { modelfile: { system: "Be kind." } });
    expect(m).toMatchObject({ name: "mine", tag: "q8_0", quantization: "q8_0" });
    expect(m.source).toEqual({ kind: "quantize", from: "src:f16" });
    expect(m.modelfile).toEqual({ system: "Be kind.", parameters: { temperature: 0.5 } });
    expect(await sourceState()).toEqual(before);
    expect((await store.variants("src")).map((v) => v.tag)).toEqual(["q4_0", "f16"]);
    const blobs = new Set((await store.variants("src")).map((v) => v.digest));
    expect(blobs.has(m.digest)).toBe(false);
    expect((await store.resolve("mine:q8_0")).quantization).toBe("q8_0");
  });

  it("FROM's tag is the source; a variant that already is the quantization is copied, and the source's own is itself", async () => {
    const named = await store.quantizeInto({ model: "src:f16" }, "q8_0", "named:x");
    expect(named).toMatchObject({ tag: "x", quantization: "q8_0", source: { kind: "quantize", from: "src:f16" } });
    const q4 = (await store.resolve("src:q4_0")).manifest;
    const copied = await store.quantizeInto({ model: "src" }, "q4_0", "cheap");
    expect(copied).toMatchObject({ name: "cheap", tag: "q4_0", digest: q4.digest });
    expect(await store.quantizeInto({ model: "src:f16" }, "q4_0", "src")).toEqual(q4);
    expect((await store.variants("src")).map((v) => v.tag)).toEqual(["q4_0", "f16"]);
  });

  it("a file is quantized under the tag latest; a less precise source and a taken name are refused before writing", async () => {
    const m = await store.quantizeInto({ file: f16File }, "q8_0", "fromfile", { modelfile: { system: "S" } });
    expect(m).toMatchObject({ name: "fromfile", tag: "latest", quantization: "q8_0", modelfile: { system: "S" } });
    const before = await snapshotStore(store);
    await expect(store.quantizeInto({ model: "src:q4_0" }, "q8_0", "up")).rejects.toMatchObject({
      code: "RFX_VALIDATION",
      message: expect.stringContaining("src:q4_0 is q4_0, less precise than quantize q8_0"),
    });
    await expect(store.quantizeInto({ model: "src" }, "q8_0", "mine")).rejects.toMatchObject({
      code: "RFX_MODEL_EXISTS",
    });
    await expect(store.quantizeInto({ model: "ghost" }, "q8_0", "x")).rejects.toMatchObject({
      code: "RFX_MODEL_NOT_FOUND",
    });
    expect(await snapshotStore(store)).toEqual(before);
  });
});
