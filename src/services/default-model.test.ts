import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, QUANTIZATIONS } from "../config/index.ts";
import { createStoreFromConfig } from "../registry/index.ts";
import { ensureDefaultModel } from "./default-model.ts";

const homes: string[] = [];
afterAll(async () => {
  for (const h of homes) await rm(h, { recursive: true, force: true });
});

describe("ensureDefaultModel (the one first-run path of the server and the CLI)", () => {
  it("creates models.default in every quantization on an empty store, says so once, and leaves a non-empty store alone", async () => {
    const home = await mkdtemp(join(tmpdir(), "rfx-default-model-"));
    homes.push(home);
    const { config } = loadConfig({ env: {}, overrides: { home, "models.default": "first-run" } });
    const store = createStoreFromConfig(config);
    const notices: string[] = [];
    expect(await ensureDefaultModel(store, config, { onNotice: (n) => notices.push(n) })).toBe(true);
    expect((await store.variants("first-run")).map((v) => v.tag).sort()).toEqual([...QUANTIZATIONS].sort());
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('"first-run"');
    expect(notices[0]).toContain("SYNTHETIC");
    for (const q of QUANTIZATIONS) expect(notices[0]).toContain(q);
    expect(await ensureDefaultModel(store, config, { onNotice: (n) => notices.push(n) })).toBe(false);
    expect(notices).toHaveLength(1);
  });
});
