// The variant selector over a real store: a remote variant whose endpoints are all ejected is left out of an untagged
// request's choice (a local variant answers instead of a 503), and the detail says so; a pinned one stays pinned.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.ts";
import { createModelStore, type ModelStore } from "../registry/index.ts";
import type { Scheduler } from "../scheduler/index.ts";
import { createVariantSelector, type SelectableVariant } from "./select-variant.ts";

const COMPLEX =
  "Prove rigorously that the eigenvalues of a Hermitian matrix are real, derive the complexity of the QR algorithm " +
  "with Householder reflections, analyze its numerical stability and implement it in Rust with unit tests.";

let home: string;
let store: ModelStore;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "rfx-select-"));
  store = createModelStore({ home });
  await store.synth({ shape: "tiny", quant: ["q4_0"], name: "mix", seed: 5 });
  await store.addRemote({
    name: "mix",
    tag: "f16",
    remote: { endpoints: ["http://127.0.0.1:9/v1"], upstreamModel: "up" },
  });
}, 60_000);
afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

function selector(remoteAvailable?: (v: SelectableVariant) => boolean) {
  const { config } = loadConfig({ env: {}, overrides: { home } });
  const scheduler = {
    status: () => ({ variants: [], parallel: 1, estimatedLoadedVramBytes: 0 }),
  } as unknown as Pick<Scheduler, "status">;
  return createVariantSelector({ config, store, scheduler, remoteAvailable });
}

describe("a remote variant with every endpoint ejected", () => {
  it("is chosen for a complex prompt while it is available", async () => {
    const sel = await selector(() => true).select("mix", { messages: [{ role: "user", content: COMPLEX }] });
    expect(`${sel.variant.name}:${sel.variant.tag}`).toBe("mix:f16");
  });

  it("gives way to the local variant for an untagged request, and the detail says why", async () => {
    const sel = await selector((v) => !v.remote).select("mix", { messages: [{ role: "user", content: COMPLEX }] });
    expect(`${sel.variant.name}:${sel.variant.tag}`).toBe("mix:q4_0");
    expect(sel.detail).toContain("mix:f16 left out: every endpoint is ejected after failures");
    expect(sel.detail).toContain("q4_0 is the only variant that can serve now");
    expect(sel.detail).not.toContain("only stored variant");
  });

  it("stays the variant of a request that pins it", async () => {
    const sel = await selector((v) => !v.remote).select("mix:f16", { messages: [{ role: "user", content: "hi" }] });
    expect(sel).toMatchObject({ reason: "pinned", variant: { tag: "f16" } });
  });
});
