// Remote variants in the catalog: spec validation by field name, the manifest (no blob, digest of the spec), and
// config-declared variants listed and resolved next to stored ones but never removed through the store.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.ts";
import { createStoreFromConfig } from "./create-model-store.ts";
import { remoteManifest, validateRemoteSpec } from "./remote-variants.ts";

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

describe("remote variants", () => {
  it("validate their spec by field", () => {
    expect(() => validateRemoteSpec({ endpoints: [], upstreamModel: "m" })).toThrow(/remote.urls/);
    expect(() => validateRemoteSpec({ endpoints: ["ftp://x"], upstreamModel: "m" })).toThrow(/http and https/);
    expect(() => validateRemoteSpec({ endpoints: ["http://a", "http://a/v1"], upstreamModel: "m" })).toThrow(/twice/);
    expect(() => validateRemoteSpec({ endpoints: ["http://a"], upstreamModel: "" })).toThrow(/upstream_model/);
    expect(() =>
      validateRemoteSpec({ endpoints: ["http://a"], upstreamModel: "m", apiKeyFile: "f", apiKeyEnv: "E" }),
    ).toThrow(/not both/);
    expect(() => validateRemoteSpec({ endpoints: ["http://a"], upstreamModel: "m", maxConcurrent: 1.5 })).toThrow(
      /max_concurrent/,
    );
    expect(validateRemoteSpec({ endpoints: ["http://a:8080/", "https://b/openai/v1/"], upstreamModel: "m" })).toEqual({
      endpoints: ["http://a:8080/v1", "https://b/openai/v1"],
      upstreamModel: "m",
    });
  });

  it("have a digest that names the spec, and the tag as quantization when it is one", () => {
    const a = remoteManifest(
      { name: "m", tag: "f16", remote: { endpoints: ["http://a"], upstreamModel: "x" } },
      { kind: "remote", from: "" },
    );
    const b = remoteManifest(
      { name: "m", tag: "f16", remote: { endpoints: ["http://b"], upstreamModel: "x" } },
      { kind: "remote", from: "" },
    );
    expect(a).toMatchObject({ kind: "remote", format: "remote", quantization: "f16", sizeBytes: 0 });
    expect(a.digest).not.toBe(b.digest);
    expect(
      remoteManifest(
        { name: "m", tag: "pool", remote: { endpoints: ["http://a"], upstreamModel: "x" } },
        { kind: "remote", from: "" },
      ).quantization,
    ).toBe("unknown");
  });

  it("refuse a quantization that is no quantization name or contradicts a quantization tag", () => {
    const spec = { endpoints: ["http://a"], upstreamModel: "x" };
    const src = { kind: "remote" as const, from: "" };
    expect(() => remoteManifest({ name: "m", tag: "q4_0", quantization: "f16", remote: spec }, src)).toThrow(
      /remote\.quantization f16 contradicts the tag q4_0/,
    );
    expect(() => remoteManifest({ name: "m", tag: "pool", quantization: "zzz", remote: spec }, src)).toThrow(
      /remote\.quantization "zzz" is not a quantization name/,
    );
    expect(remoteManifest({ name: "m", tag: "pool", quantization: "F16", remote: spec }, src).quantization).toBe("f16");
    expect(remoteManifest({ name: "m", tag: "q8_0", quantization: "q8_0", remote: spec }, src).quantization).toBe(
      "q8_0",
    );
  });

  it("from config are listed and resolved with stored ones, and refused by remove", async () => {
    const home = mkdtempSync(join(tmpdir(), "rfx-remote-reg-"));
    homes.push(home);
    const { config } = loadConfig({
      env: {},
      overrides: { home, "remote.models": [{ name: "m", tag: "f16", urls: ["http://a:1"], upstream_model: "up" }] },
    });
    const store = createStoreFromConfig(config);
    await store.addRemote({ name: "m", tag: "q8_0", remote: { endpoints: ["http://b:2"], upstreamModel: "up" } });
    expect((await store.variants("m")).map((v) => [v.tag, v.source.kind])).toEqual([
      ["q8_0", "remote"],
      ["f16", "config"],
    ]);
    const r = await store.resolve("m:f16");
    expect(r).toMatchObject({ path: "remote://m:f16", remote: { endpoints: ["http://a:1/v1"], upstreamModel: "up" } });
    expect((await store.show("m:q8_0")).estimatedMemoryBytes).toBe(0);
    await expect(store.remove("m:f16")).rejects.toThrow(/declared in the configuration .*; change it there/);
    // Nor can a stored variant shadow it: forced remote, copy or add over its name:tag are refused as its removal is.
    const over = { name: "m", tag: "f16", remote: { endpoints: ["http://c"], upstreamModel: "up" }, force: true };
    await expect(store.addRemote(over)).rejects.toThrow(/m:f16 is declared in the configuration/);
    await expect(store.copy("m:q8_0", "m:f16", { force: true })).rejects.toThrow(/m:f16 is declared/);
    expect((await store.resolve("m:f16")).remote?.endpoints).toEqual(["http://a:1/v1"]);
    await expect(
      store.addRemote({ name: "m", tag: "q8_0", remote: { endpoints: ["http://c"], upstreamModel: "up" } }),
    ).rejects.toThrow(/already exists/);
    expect((await store.remove("m")).map((m) => m.tag)).toEqual(["q8_0"]);
    expect((await store.list()).flatMap((l) => l.variants.map((v) => v.tag))).toEqual(["f16"]);
  });
});
