// One answer whether a server answered or the CLI ran embedded (real server, real CLI processes, one home): each
// command's --json has one shape, remote variants are shown and planned as remote, and a missing default model
// says what to pass instead.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelsBody, RolesBody } from "../src/client/api-types.ts";
import { formatAgo } from "../src/cli/output.ts";
import { createModelStore, type ModelStore } from "../src/registry/index.ts";
import { startServer, type RunningServer } from "../src/main.ts";
import { runCli } from "./support/run-cli.ts";
import { liveServerConfig, TINY } from "./support/server-fixture.ts";

let home: string;
let store: ModelStore;
let server: RunningServer;
const logLines: string[] = [];

const MODES = ["server", "embedded"] as const;
type Mode = (typeof MODES)[number];

const cli = (mode: Mode, args: string[]) =>
  runCli(home, [...(mode === "embedded" ? ["--local"] : []), ...args], { REFLEXIA_HOST: server.url });

async function jsonOf(mode: Mode, args: string[]): Promise<Record<string, unknown>> {
  const r = await cli(mode, [...args, "--json"]);
  expect(r.code, `${mode}: ${r.stderr}`).toBe(0);
  expect(r.stderr).toContain(mode === "server" ? "using the server" : "running embedded");
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** The keys of an object and of its nested objects (arrays: their first element), as dotted paths. */
function shapeOf(v: unknown, prefix = ""): string[] {
  if (Array.isArray(v)) return v.length ? shapeOf(v[0], `${prefix}[]`) : [`${prefix}[]`];
  if (v === null || typeof v !== "object") return [prefix];
  return Object.entries(v as Record<string, unknown>)
    .flatMap(([k, x]) => [`${prefix}.${k}`, ...shapeOf(x, `${prefix}.${k}`).filter((p) => p !== `${prefix}.${k}`)])
    .sort();
}

/** The same command's --json in both modes: the same keys at every level. */
async function sameShape(args: string[]): Promise<Record<Mode, Record<string, unknown>>> {
  const viaServer = await jsonOf("server", args);
  const embedded = await jsonOf("embedded", args);
  expect(shapeOf(embedded), args.join(" ")).toEqual(shapeOf(viaServer));
  return { server: viaServer, embedded };
}

beforeAll(async () => {
  // A store with models but no reflexia-tiny (the configured default): "t" in q4_0, plus a remote f16 variant.
  home = await mkdtemp(join(tmpdir(), "rfx-json-modes-"));
  store = createModelStore({ home, defaultQuantization: "q4_0" });
  await store.synth({ shape: "tiny", quant: ["q4_0"], name: "t", seed: 7 });
  const remote = await runCli(home, ["--local", "models", "add-remote", "t:f16", "--url", "http://127.0.0.1:9/v1"]);
  expect(remote.code, remote.stderr).toBe(0);
  writeFileSync(join(home, "note.txt"), "The capital of Atlantis is Poseidonia, founded by the sea god.");
  const add = await runCli(home, ["--local", "docs", "add", join(home, "note.txt")]);
  expect(add.code, add.stderr).toBe(0);
  server = await startServer({
    loaded: liveServerConfig(home, { "models.context_size": 1024, "models.default": TINY }),
    store,
    ensureDefaultModel: false,
    logger: { level: "warn", stream: { write: (s: string) => void logLines.push(s) } },
    webDir: null,
  });
  await server.ready.catch(() => {});
}, 60_000);
afterAll(async () => {
  await server?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("--json has one shape in both modes", () => {
  it("generate: snake_case timings with ttft and queue, whether a server answered or not", async () => {
    const { server: s, embedded: e } = await sameShape(["generate", "hi", "--model", "t:q4_0", "-n", "3"]);
    for (const g of [s, e]) {
      const t = g.timings as Record<string, number>;
      expect(Object.keys(t).sort()).toEqual(
        ["eval_ms", "load_ms", "prompt_eval_ms", "queue_ms", "tokens_per_second", "total_ms", "ttft_ms"].sort(),
      );
      expect(t.ttft_ms).toBeGreaterThan(0);
      expect(t.total_ms).toBeGreaterThanOrEqual(t.prompt_eval_ms);
      expect(g.completion_tokens).toBe(3);
    }
    expect(s.via).toBe(server.url);
    expect(e.via).toBeNull();
    await sameShape(["generate", "", "--model", "t:q4_0"]);
  }, 60_000);

  it("docs list and docs query: the HTTP API's snake_case documents and results", async () => {
    const { embedded: list } = await sameShape(["docs", "list"]);
    expect((list.documents as Record<string, unknown>[])[0]).toHaveProperty("chunk_count", 1);
    const { embedded: q } = await sameShape(["docs", "query", "Atlantis capital"]);
    expect((q.results as Record<string, unknown>[])[0]).toHaveProperty("chunk_index", 0);
    for (const mode of MODES) {
      const empty = await cli(mode, ["docs", "query", ""]);
      expect(empty.code, mode).toBe(1);
      expect(empty.stderr, mode).toContain("error: the query text is empty (RFX_VALIDATION)");
    }
  }, 60_000);

  it("models show: GET /api/models/NAME:TAG's object, built from the store embedded", async () => {
    const { embedded: local } = await sameShape(["models", "show", "t:q4_0"]);
    expect(local).toMatchObject({ name: "t:q4_0", kind: "local", remote: null, quality: null });
    expect(local.estimated_memory).toHaveProperty("total_bytes");
    const { server: remote } = await sameShape(["models", "show", "t:f16"]);
    expect(remote).toMatchObject({ kind: "remote", remote: { endpoints: ["http://127.0.0.1:9/v1"] } });
  }, 60_000);

  it("models list: GET /api/models's object {models, quantizations}, built from the store embedded", async () => {
    const { server: s, embedded: e } = await sameShape(["models", "list"]);
    const route = (await (await fetch(`${server.url}/api/models`)).json()) as ModelsBody;
    // Only whether the server holds a variant loaded differs: nothing is loaded in an embedded `models list`.
    const unloaded = (b: ModelsBody) => ({
      ...b,
      models: b.models.map((m) => ({
        ...m,
        variants: m.variants.map((v) => ({ ...v, loaded: false, loading: false, expires_at: null, running: 0 })),
      })),
    });
    expect(unloaded(s as ModelsBody)).toEqual(unloaded(route));
    expect(e).toEqual(unloaded(route));
    const t = (e as ModelsBody).models.find((m) => m.name === "t")!;
    expect(t.total_bytes).toBeGreaterThan(0);
    expect(t.variants.find((v) => v.tag === "q4_0")).toMatchObject({ kind: "local", size_bytes: expect.any(Number) });
  }, 60_000);

  it("roles: GET /api/roles's object {roles, categories}, with builtin and system_prompt", async () => {
    const { server: s, embedded: e } = await sameShape(["roles"]);
    const route = await (await fetch(`${server.url}/api/roles`)).json();
    expect(s).toEqual(route);
    expect(e).toEqual(route);
    expect((e as RolesBody).roles[0]).toMatchObject({ builtin: true, system_prompt: expect.any(String) });
  }, 60_000);
});

describe("remote variants in CLI commands", () => {
  it("models show prints a remote variant as remote in both modes, never zero parameters and null layers", async () => {
    for (const mode of MODES) {
      const r = await cli(mode, ["models", "show", "t:f16"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Kind +remote/m);
      expect(r.stdout).toContain("http://127.0.0.1:9/v1");
      expect(r.stdout).not.toMatch(/Parameters|null/);
    }
  }, 60_000);

  it("models show gives a remote variant's effective timeouts and concurrency, and whether it or the config sets them", async () => {
    const own = ["models", "add-remote", "own:f16", "--url", "http://127.0.0.1:9/v1", "--timeout", "5"];
    expect((await cli("embedded", [...own, "--max-concurrent", "2"])).code).toBe(0);
    try {
      for (const mode of MODES) {
        const r = await cli(mode, ["models", "show", "t:f16"]);
        expect(r.code, r.stderr).toBe(0);
        // The config's defaults (remote.timeout_seconds 60, request_timeout_seconds 600, max_concurrent 8).
        expect(r.stdout, mode).toMatch(/^First-byte timeout +60 s \(config remote\.timeout_seconds\)$/m);
        expect(r.stdout, mode).toMatch(/^Request timeout +600 s \(config remote\.request_timeout_seconds\)$/m);
        expect(r.stdout, mode).toMatch(
          /^Per endpoint +8 concurrent requests at most \(config remote\.max_concurrent\)$/m,
        );
        expect(r.stdout, mode).not.toContain("default");
        const o = await cli(mode, ["models", "show", "own:f16"]);
        expect(o.stdout, mode).toMatch(/^First-byte timeout +5 s \(set on the variant\)$/m);
        expect(o.stdout, mode).toMatch(/^Request timeout +600 s \(config remote\.request_timeout_seconds\)$/m);
        expect(o.stdout, mode).toMatch(/^Per endpoint +2 concurrent requests at most \(set on the variant\)$/m);
      }
      // The config's value, not a constant: REMOTE_TIMEOUT sets remote.timeout_seconds.
      const env = await runCli(home, ["--local", "models", "show", "t:f16"], { REMOTE_TIMEOUT: "30" });
      expect(env.stdout).toMatch(/^First-byte timeout +30 s \(config remote\.timeout_seconds\)$/m);
    } finally {
      expect((await cli("embedded", ["models", "rm", "own:f16"])).code).toBe(0);
    }
  }, 60_000);

  it("models list says remote for a remote variant in both modes (through the server it said local)", async () => {
    for (const mode of MODES) {
      const r = await cli(mode, ["models", "list"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, mode).toMatch(/^t +f16 +remote /m);
      expect(r.stdout, mode).toMatch(/^t +q4_0 +local /m);
      // No file, parameter count, architecture or trained context here: `-`, never `0 B  0  remote  0`.
      expect(r.stdout, mode).toMatch(/^t +f16 +remote +f16 +- +- +- +- +remote /m);
      expect(r.stdout, mode).toMatch(/^t +q4_0 +local +q4_0 +[\d.]+ MiB +[\d.]+M +llama +\d+ +synth /m);
      const j = await cli(mode, ["models", "list", "--json"]);
      const variants = (JSON.parse(j.stdout) as ModelsBody).models
        .flatMap((m) => m.variants)
        .map((v) => [v.tag, v.kind]);
      expect(variants, mode).toEqual(
        expect.arrayContaining([
          ["f16", "remote"],
          ["q4_0", "local"],
        ]),
      );
    }
  }, 60_000);

  it("models cp, rm and quantize take a quantization tag in any case and print the same in both modes", async () => {
    const steps = [
      ["cp", "t:Q4_0", "c"],
      ["cp", "t:Q4_0", "c"],
      ["rm", "c:Q4_0"],
      ["cp", "t:Q4_0", "c:Q4_0"],
      ["rm", "c:q4_0"],
      // `name:latest` is a real tag to rm, as the store takes it (the server alone would delete the default variant).
      ["rm", "t:latest"],
      ["quantize", "t:Q4_0", "--to", "q4_0"],
    ];
    const printed: Record<Mode, string[]> = { server: [], embedded: [] };
    for (const mode of MODES)
      for (const step of steps) {
        const r = await cli(mode, ["models", ...step]);
        const stderr = r.stderr.replace(/^reflexia: .*\n/gm, "");
        printed[mode].push(`${r.code} ${r.stdout}${stderr}`);
      }
    const [cp, again, rm, cpTagged, rmTagged, latest, quantize] = printed.server;
    expect(cp).toMatch(/^0 copied to c:q4_0 {2}\(q4_0, /);
    expect(again).toBe(
      "1 error: model c:q4_0 already exists (remove it first, or replace it with --force) (RFX_MODEL_EXISTS)\n",
    );
    expect(rm).toBe("0 removed c:q4_0\n");
    expect(cpTagged).toMatch(/^0 copied to c:Q4_0 {2}\(q4_0, /);
    expect(rmTagged).toBe("0 removed c:Q4_0\n");
    expect(latest).toBe('1 error: model "t:latest" not found (RFX_MODEL_NOT_FOUND)\n');
    expect(quantize).toMatch(/^0 source t:q4_0 \(q4_0\)\nskipped q4_0: t:q4_0 already exists/);
    // The skip reason is the server's own sentence through it; the rest is the same line for line.
    const common = (lines: string[]) => lines.map((l, i) => (i === 6 ? l.split("\n")[0] : l));
    expect(common(printed.embedded)).toEqual(common(printed.server));
    expect((await store.variants("t")).map((v) => v.tag)).toEqual(["q4_0", "f16"]);
    expect((await store.list()).map((m) => m.name)).toEqual(["t"]);
  }, 120_000);

  it("models fit plans the local variants and shows the remote one as remote, needing no memory here", async () => {
    const r = await runCli(home, ["models", "fit", "t", "--no-measure", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const rows = (JSON.parse(r.stdout) as { rows: Record<string, unknown>[] }).rows;
    expect(rows.map((x) => [x.variant, x.kind])).toEqual([
      ["t:q4_0", "local"],
      ["t:f16", "remote"],
    ]);
    expect(rows[0].ramBytes).toBeGreaterThan(0);
    expect(rows[1]).toMatchObject({ ramBytes: 0, vramBytes: 0, fitsRam: true });
    const text = await runCli(home, ["models", "fit", "t", "--no-measure"]);
    expect(text.stdout).toMatch(/^t:f16 +remote/m);
  }, 60_000);

  it("embedded generate on a remote variant says that `reflexia serve` serves it", async () => {
    const r = await cli("embedded", ["generate", "hi", "--model", "t:f16"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("t:f16 is a remote variant");
    expect(r.stderr).toContain("remote variants are served by `reflexia serve`");
  }, 60_000);
});

describe("no model named and no default model in the store", () => {
  it("generate and chat name --model and DEFAULT_MODEL and list the models, in both modes", async () => {
    for (const args of [["generate", "hi", "-n", "1"], ["chat"]])
      for (const mode of MODES) {
        const r = await cli(mode, args);
        const what = `${mode} ${args[0]}`;
        expect(r.code, `${what}: ${r.stderr}`).toBe(1);
        expect(r.stderr, what).toContain(`the default model "${TINY}" is not in the store`);
        expect(r.stderr, what).toContain("pass --model NAME or set DEFAULT_MODEL");
        expect(r.stderr, what).toContain("t:q4_0");
      }
  }, 60_000);

  it("the server's warm-up logs one warning line for it, not an error with a stack", () => {
    const warm = logLines.filter((l) => l.includes("warm-up"));
    expect(warm).toHaveLength(1);
    const entry = JSON.parse(warm[0]) as { level: number; msg: string; err?: unknown };
    expect(entry.level).toBe(40);
    expect(entry.err).toBeUndefined();
    expect(entry.msg).toContain(`the default model "${TINY}" is not in the store; set DEFAULT_MODEL`);
  });
});

describe("small things", () => {
  it("quantization names are taken in any case by synth and quantize, as by create -q", async () => {
    const synth = await cli("embedded", ["models", "synth", "--quant", "Q4_0", "--name", "caps"]);
    expect(synth.code, synth.stderr).toBe(0);
    expect((await store.variants("caps")).map((v) => v.tag)).toEqual(["q4_0"]);
    const bad = await cli("embedded", ["models", "quantize", "caps", "--to", "Q9_9"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--to: unsupported quantize "Q9_9"');
  }, 60_000);

  it("list (Ollama's): GET /api/tags's object in both modes, and a remote variant's size reads remote", async () => {
    const { server: s, embedded: e } = await sameShape(["list"]);
    const route = (await (await fetch(`${server.url}/api/tags`)).json()) as Record<string, unknown>;
    expect(e).toEqual(route);
    expect(s).toEqual(route);
    for (const mode of MODES) {
      const table = await cli(mode, ["list"]);
      expect(table.stdout, mode).toMatch(/^t:f16\s+\S+\s+remote\s/m);
      expect(table.stdout, mode).toMatch(/^t:q4_0\s+\S+\s+[\d.]+ [KMG]iB\s/m);
    }
  }, 60_000);

  it("list and docs list print their header on an empty store", async () => {
    const empty = await mkdtemp(join(tmpdir(), "rfx-json-modes-empty-"));
    try {
      const list = await runCli(empty, ["--local", "list"]);
      expect(list.stdout).toBe("NAME  ID  SIZE  MODIFIED\n");
      const docs = await runCli(empty, ["--local", "docs", "list"]);
      expect(docs.code, docs.stderr).toBe(0);
      expect(docs.stdout).toBe("ID  TITLE  TYPE  SIZE  CHUNKS\n");
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  }, 60_000);

  it("MODIFIED says 1 minute ago, not 1 minutes ago", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    const at = (s: number) => formatAgo(new Date(now - s * 1000).toISOString(), now);
    expect([at(10), at(60), at(150), at(3600), at(7300), at(86400 * 3)]).toEqual([
      "seconds ago",
      "1 minute ago",
      "2 minutes ago",
      "1 hour ago",
      "2 hours ago",
      "3 days ago",
    ]);
  });
});
