// The CLI as a client of a running server (real server, real CLI processes): `docs add` is listed by the server at
// once, `run` answers from the server's loaded model without loading one itself; with no server both run embedded.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelsBody } from "../src/client/api-types.ts";
import { startServer, type RunningServer } from "../src/main.ts";
import { checkBinaries } from "./deploy-require-binary.ts";
import { createTinyHome, liveServerConfig, TINY, waitFor, type TinyHome } from "./support/server-fixture.ts";

const BIN = join(import.meta.dirname, "..", "bin", "reflexia.js");
const bins = checkBinaries(["time"]);
let home: TinyHome;
let server: RunningServer | undefined;

/** Runs the CLI; with /usr/bin/time it also reports the process's peak RSS in KiB. */
function cli(
  args: string[],
  host: string,
  stdin = "",
): Promise<{ code: number; stdout: string; stderr: string; maxRssKiB?: number }> {
  const env = { ...process.env, REFLEXIA_HOME: home.home, REFLEXIA_HOST: host };
  const [file, argv] = bins.skip
    ? [process.execPath, [BIN, ...args]]
    : [bins.require("time"), ["-f", "maxrss=%M", process.execPath, BIN, ...args]];
  return new Promise((resolve) => {
    const child = execFile(file, argv, { env, cwd: home.home }, (err, stdout, stderr) => {
      const m = /maxrss=(\d+)/.exec(stderr);
      resolve({
        code: err ? ((err as { code?: number }).code ?? 1) : 0,
        stdout,
        stderr: stderr.replace(/maxrss=\d+\n?/, ""),
        maxRssKiB: m ? Number(m[1]) : undefined,
      });
    });
    child.stdin?.end(stdin);
  });
}

beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
  const dir = join(home.home, "notes");
  mkdirSync(dir);
  writeFileSync(join(dir, "atlantis.txt"), "The capital of Atlantis is Poseidonia, founded by the sea god.");
  writeFileSync(join(dir, "zebra.md"), "# Zebras\nZebras have black and white stripes.");
  server = await startServer({
    loaded: liveServerConfig(home.home, { "models.context_size": 1024, "rag.watch_interval_ms": 200 }),
    store: home.store,
    logger: false,
    webDir: null,
  });
  await server.ready;
}, 60_000);
afterAll(async () => {
  await server?.close();
  await home?.cleanup();
});

describe("with a server running", () => {
  it("docs add goes through the server, which lists the documents at once", async () => {
    const r = await cli(["docs", "add", join(home.home, "notes")], server!.url);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`using the server at ${server!.url}`);
    const listed = (await (await fetch(`${server!.url}/api/documents`)).json()) as { documents: { title: string }[] };
    expect(listed.documents.map((d) => d.title).sort()).toEqual(["atlantis.txt", "zebra.md"]);
    const q = await cli(["docs", "query", "capital of Atlantis", "-k", "1"], server!.url);
    expect(q.stdout).toContain("Poseidonia");
  });

  it("the server notices documents another process adds or deletes (--local), and counts them", async () => {
    const extra = join(home.home, "giraffe.txt");
    writeFileSync(extra, "Giraffes have very long necks and eat acacia leaves.");
    const r = await cli(["--local", "docs", "add", extra, "--json"], server!.url);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("--local: running embedded");
    const id = (JSON.parse(r.stdout) as { id: string }[])[0].id;
    const titles = async () =>
      (
        (await (await fetch(`${server!.url}/api/documents`)).json()) as { documents: { title: string }[] }
      ).documents.map((d) => d.title);
    await waitFor(async () => (await titles()).includes("giraffe.txt"), "the server to list the new document");
    const hits = (await (
      await fetch(`${server!.url}/api/rag/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "giraffes necks acacia", top_k: 1 }),
      })
    ).json()) as { results: { title: string }[] };
    expect(hits.results[0].title).toBe("giraffe.txt");
    const gauge = async () =>
      Number(
        /^reflexia_rag_document_count (\S+)$/m.exec(await (await fetch(`${server!.metricsUrl}/metrics`)).text())?.[1],
      );
    expect(await gauge()).toBe(3);
    expect((await cli(["--local", "docs", "rm", id], server!.url)).code).toBe(0);
    await waitFor(async () => !(await titles()).includes("giraffe.txt"), "the server to drop the deleted document");
    await waitFor(async () => (await gauge()) === 2, "the document gauge to fall");
  });

  let viaServerRss: number | undefined;
  it("run MODEL PROMPT answers from the server's loaded model; the CLI loads none", async () => {
    const r = await cli(["run", `${TINY}:q4_0`, "hi"], server!.url);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("using the server");
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    const ps = (await (await fetch(`${server!.url}/api/ps`)).json()) as {
      models: { name: string; size: number; size_vram: number; expires_at: string; details: { family: string } }[];
    };
    expect(ps.models.map((m) => m.name)).toEqual([`${TINY}:q4_0`]);
    expect(ps.models[0].size).toBeGreaterThan(0);
    expect(ps.models[0].size_vram).toBe(0);
    expect(ps.models[0].details.family).toBe("llama");
    expect(Date.parse(ps.models[0].expires_at)).toBeGreaterThan(Date.now());
    const piped = await cli(["run", `${TINY}:q4_0`], server!.url, "a prompt from stdin");
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout.trim().length).toBeGreaterThan(0);
    viaServerRss = r.maxRssKiB;
  });

  it("models list/show/cp/quantize/rm go through the server, whose /api/tags reflects them at once", async () => {
    const tags = async () =>
      ((await (await fetch(`${server!.url}/api/tags`)).json()) as { models: { name: string }[] }).models.map(
        (m) => m.name,
      );
    // synth has no route (it writes a model with this machine's CPU): embedded, and the server sees it at once.
    const synth = await cli(["models", "synth", "--shape", "tiny", "--quant", "f16", "--name", "src"], server!.url);
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stderr).not.toContain("using the server");
    expect(await tags()).toContain("src:f16");

    const q = await cli(["models", "quantize", "src", "--to", "q8_0,f16"], server!.url);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stderr).toContain(`using the server at ${server!.url}`);
    expect(q.stdout).toContain("source src:f16 (f16)");
    expect(q.stdout).toMatch(/created src:q8_0 {2}\(q8_0, /);
    expect(q.stdout).toContain("skipped f16: src:f16 already exists");
    expect(await tags()).toContain("src:q8_0");

    const cp = await cli(["models", "cp", "src:q8_0", "dup"], server!.url);
    expect(cp.code, cp.stderr).toBe(0);
    expect(cp.stderr).toContain("using the server");
    expect(cp.stdout).toContain("copied to dup:q8_0");
    expect(await tags()).toContain("dup:q8_0");

    const list = await cli(["models", "list", "--json"], server!.url);
    expect(list.stderr).toContain("using the server");
    const listed = (JSON.parse(list.stdout) as ModelsBody).models;
    expect(listed.find((m) => m.name === "src")?.variants.map((v) => v.tag)).toEqual(["q8_0", "f16"]);

    const show = await cli(["models", "show", "src:q8_0"], server!.url);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stderr).toContain("using the server");
    expect(show.stdout).toMatch(/Quantization +q8_0/);
    expect(show.stdout).toContain("(on the server's machine)");

    const rm = await cli(["models", "rm", "src:q8_0"], server!.url);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stderr).toContain("using the server");
    expect(rm.stdout).toBe("removed src:q8_0\n");
    const after = await tags();
    expect(after).not.toContain("src:q8_0");
    expect(after).toContain("src:f16");
    // An untagged name removes every variant here, although /api/delete (as Ollama's) takes it as one variant.
    await fetch(`${server!.url}/api/copy`, {
      method: "POST",
      body: JSON.stringify({ source: "src:f16", destination: "src:g" }),
    });
    const rmAll = await cli(["models", "rm", "src"], server!.url);
    expect(rmAll.code, rmAll.stderr).toBe(0);
    expect(rmAll.stdout.split("\n").sort()).toEqual(["", "removed src:f16", "removed src:g"]);
    expect((await tags()).filter((n) => n.startsWith("src:"))).toEqual([]);
    const missing = await cli(["models", "rm", "nope"], server!.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("RFX_MODEL_NOT_FOUND");
  }, 120_000);

  it("with no server answering the same commands run embedded", async () => {
    await server!.close();
    server = undefined;
    const closed = "http://127.0.0.1:9";
    const r = await cli(["run", `${TINY}:q4_0`, "hi"], closed);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("running embedded");
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    // Embedded, the CLI loads the engine and the model itself: its peak RSS is well above the client's.
    if (viaServerRss !== undefined && r.maxRssKiB !== undefined) expect(r.maxRssKiB).toBeGreaterThan(viaServerRss);
    const list = await cli(["docs", "list"], closed);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain("atlantis.txt");
    const models = await cli(["models", "list"], closed);
    expect(models.code, models.stderr).toBe(0);
    expect(models.stderr).toContain("running embedded");
    expect(models.stdout).toContain("dup");
    const show = await cli(["models", "show", "dup"], closed);
    expect(show.stdout).toContain(join(home.home, "models"));
    const rm = await cli(["models", "rm", "dup"], closed);
    expect(rm.stdout).toBe("removed dup:q8_0\n");
    expect((await cli(["models", "list"], closed)).stdout).not.toContain("dup");
  }, 60_000);
});
