// The same CLI command through a running server and embedded (--local), real processes on one home: a model's
// Modelfile settings shape both answers alike, and a flag the user did not give overrides none of them.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../src/main.ts";
import { runCli } from "./support/run-cli.ts";
import { createTinyHome, liveServerConfig, TINY, type TinyHome } from "./support/server-fixture.ts";

let home: TinyHome;
let server: RunningServer;

const MODES = ["server", "embedded"] as const;
type Mode = (typeof MODES)[number];

/** `reflexia …args` on the test home, through the server or with --local; stdin is empty (not a TTY). */
const cli = (mode: Mode, args: string[], env: Record<string, string> = {}, input?: string) =>
  runCli(
    home.home,
    [...(mode === "embedded" ? ["--local"] : []), ...args],
    { REFLEXIA_HOST: server.url, ...env },
    input,
  );

interface GenerateJson {
  text: string;
  finish_reason: string;
  prompt_tokens: number;
  cached_prompt_tokens: number;
  completion_tokens: number;
}

async function generateJson(mode: Mode, args: string[]): Promise<GenerateJson> {
  const r = await cli(mode, ["generate", ...args, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain(mode === "server" ? "using the server" : "running embedded");
  return JSON.parse(r.stdout) as GenerateJson;
}

/** Writes a Modelfile and creates NAME from it (embedded: the server reads the store per request). */
async function createModel(name: string, modelfile: string): Promise<void> {
  const file = join(home.home, `Modelfile.${name}`);
  writeFileSync(file, modelfile);
  const r = await cli("embedded", ["create", name, "-f", file]);
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
  const loaded = liveServerConfig(home.home, { "models.context_size": 1024 });
  server = await startServer({ loaded, store: home.store, logger: false, webDir: null });
  await server.ready;
}, 60_000);
afterAll(async () => {
  await server?.close();
  await home?.cleanup();
});

describe("a model's Modelfile settings, through the server and embedded", () => {
  it("PARAMETER num_predict bounds generate and run in both modes; --max-tokens given overrides it", async () => {
    await createModel("np", `FROM ${TINY}:q4_0\nPARAMETER num_predict 3\nPARAMETER temperature 0\n`);
    const runs: string[] = [];
    for (const mode of MODES) {
      const g = await generateJson(mode, ["hi", "--model", "np"]);
      expect(g.completion_tokens, mode).toBe(3);
      expect(g.finish_reason, mode).toBe("length");
      const n = await generateJson(mode, ["hi", "--model", "np", "--max-tokens", "5"]);
      expect(n.completion_tokens, mode).toBe(5);
      const r = await cli(mode, ["run", "np", "hi"]);
      expect(r.code, r.stderr).toBe(0);
      // Greedy (the model's temperature 0): the three tokens generate gave, then run's newline.
      expect(r.stdout, mode).toBe(`${g.text}\n`);
      runs.push(r.stdout);
    }
    expect(runs[0]).toBe(runs[1]);
  }, 120_000);

  it("a PARAMETER out of a request option's range is refused by line in both modes, and nothing is stored", async () => {
    const file = join(home.home, "Modelfile.hot");
    writeFileSync(file, `FROM ${TINY}:q4_0\nPARAMETER temperature 0\nPARAMETER top_p 0\n`);
    for (const mode of MODES) {
      const r = await cli(mode, ["create", "hot", "-f", file]);
      expect(r.code, mode).not.toBe(0);
      expect(r.stderr, mode).toContain(`${file}:3: PARAMETER top_p must be > 0 (got 0)`);
    }
    expect((await home.store.variants("hot")).length).toBe(0);
  }, 60_000);

  it("SYSTEM and MESSAGE make the same prompt in both modes", async () => {
    await createModel(
      "sm",
      `FROM ${TINY}:q4_0\nSYSTEM You are a pirate.\nMESSAGE user Who are you?\nMESSAGE assistant A pirate.\n`,
    );
    const plain = await generateJson("embedded", ["hi", "--model", `${TINY}:q4_0`, "-n", "1"]);
    const counts: number[] = [];
    for (const mode of MODES) counts.push((await generateJson(mode, ["hi", "--model", "sm", "-n", "1"])).prompt_tokens);
    expect(counts[0]).toBe(counts[1]);
    expect(counts[1]).toBeGreaterThan(plain.prompt_tokens + 10);
  }, 60_000);

  it("a plain model's prompt counts the same in both modes, the server's prefix cache included", async () => {
    // A first request shares the chat template's opening with the next one: the server then evaluates only the rest.
    await generateJson("server", ["hello there", "--model", `${TINY}:q4_0`, "-n", "1"]);
    const viaServer = await generateJson("server", ["hi", "--model", `${TINY}:q4_0`, "-n", "1"]);
    const embedded = await generateJson("embedded", ["hi", "--model", `${TINY}:q4_0`, "-n", "1"]);
    // (The native engine serves part of it from the cache; node-llama-cpp, without the addon built, reports none.)
    expect(embedded.cached_prompt_tokens).toBe(0);
    expect(viaServer.prompt_tokens).toBe(embedded.prompt_tokens);
  }, 60_000);
});

describe("generate with an empty prompt", () => {
  it("loads the model and generates nothing, in both modes (as Ollama's empty-prompt request)", async () => {
    for (const mode of MODES) {
      const g = await generateJson(mode, ["", "--model", `${TINY}:q4_0`]);
      expect(g).toMatchObject({ text: "", finish_reason: "load", prompt_tokens: 0, completion_tokens: 0 });
      const plain = await cli(mode, ["generate", "", "--model", `${TINY}:q4_0`, "--max-tokens", "4"]);
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stdout).toBe("");
      expect(plain.stderr).toContain(`loaded ${TINY}:q4_0`);
    }
    const ps = (await (await fetch(`${server.url}/api/ps`)).json()) as { models: { name: string }[] };
    expect(ps.models.map((m) => m.name)).toContain(`${TINY}:q4_0`);
  }, 60_000);
});

describe("run MODEL with empty piped stdin and no prompt", () => {
  it("loads the model and exits 0 without opening the chat, in both modes (as ollama run < /dev/null)", async () => {
    for (const mode of MODES) {
      const r = await cli(mode, ["run", `${TINY}:q4_0`]); // stdin: /dev/null
      expect(r.code, `${mode}: ${r.stderr}`).toBe(0);
      expect(r.stdout, mode).toBe("");
      const missing = await cli(mode, ["run", "nope"]);
      expect(missing.code, mode).toBe(1);
      expect(missing.stderr, mode).toContain('model "nope" not found');
    }
  }, 60_000);
});

describe("/show info in the chat", () => {
  it("prints the same lines in both modes: the parameter size as 2.1M, the System and Parameters sections", async () => {
    await createModel("info", `FROM ${TINY}:q4_0\nPARAMETER temperature 0.5\nPARAMETER stop "<x>"\nSYSTEM Be brief.\n`);
    const infos: string[] = [];
    for (const mode of MODES) {
      const r = await cli(mode, ["chat", "--model", "info"], {}, "/show info\n/bye\n");
      expect(r.code, `${mode}: ${r.stderr}`).toBe(0);
      const info = r.stdout.slice(r.stdout.indexOf("  Model\n"), r.stdout.lastIndexOf(">>> /bye"));
      expect(info, mode).toMatch(/^ {4}parameters {10}\d+(\.\d)?[KMB]$/m);
      expect(info, mode).toContain("  System\n    Be brief.\n");
      expect(info, mode).toMatch(/ {2}Parameters\n {4}temperature +0\.5\n {4}stop +"<x>"\n/);
      infos.push(info);
    }
    expect(infos[1]).toBe(infos[0]);
  }, 60_000);
});

describe("a server that requires an API key", () => {
  it("is an error naming API_KEY and --local when the key is missing or wrong, never a silent embedded run", async () => {
    const loaded = liveServerConfig(home.home, { "auth.enabled": true, "auth.api_key": "sekret" });
    const guarded = await startServer({ loaded, store: home.store, logger: false, webDir: null, warmUp: false });
    try {
      await guarded.ready;
      const args = ["generate", "hi", "--model", `${TINY}:q4_0`, "-n", "1"];
      for (const key of ["", "wrong"]) {
        const r = await runCli(home.home, args, { REFLEXIA_HOST: guarded.url, API_KEY: key });
        expect(r.code).toBe(1);
        expect(r.stderr).not.toContain("running embedded");
        expect(r.stderr).toContain(key ? "refused the one in API_KEY" : "API_KEY is not set");
        expect(r.stderr).toMatch(/set API_KEY to one of its keys, or pass --local .*\(RFX_UNAUTHORIZED\)/);
      }
      const ok = await runCli(home.home, args, { REFLEXIA_HOST: guarded.url, API_KEY: "sekret" });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stderr).toContain(`using the server at ${guarded.url}`);
    } finally {
      await guarded.close();
    }
  }, 60_000);
});

describe("create -q QUANT", () => {
  it("quantizes a GGUF file FROM in both modes, and FROM a model without adding a variant to the source", async () => {
    const synth = await cli("embedded", ["models", "synth", "--shape", "tiny", "--quant", "f16", "--name", "fsrc"]);
    expect(synth.code, synth.stderr).toBe(0);
    const f16 = await home.store.resolve("fsrc:f16");
    for (const mode of MODES) {
      const file = join(home.home, `Modelfile.file-${mode}`);
      writeFileSync(file, `FROM ${f16.path}\nPARAMETER temperature 0\n`);
      const r = await cli(mode, ["create", `ffq-${mode}`, "-f", file, "-q", "q4_0"]);
      expect(r.code, r.stderr).toBe(0);
      const made = await home.store.resolve(`ffq-${mode}:latest`);
      expect(made.quantization, mode).toBe("q4_0");
      expect(made.manifest.modelfile?.parameters).toEqual({ temperature: 0 });
    }
    const file = join(home.home, "Modelfile.from-model");
    writeFileSync(file, "FROM fsrc\nSYSTEM Be brief.\n");
    const r = await cli("embedded", ["create", "fq", "-f", file, "-q", "q8_0"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await home.store.variants("fq")).map((v) => [v.tag, v.quantization])).toEqual([["q8_0", "q8_0"]]);
    expect((await home.store.resolve("fq:q8_0")).manifest.modelfile?.system).toBe("Be brief.");
    expect((await home.store.variants("fsrc")).map((v) => v.tag)).toEqual(["f16"]);
    const q4 = join(home.home, "Modelfile.q4");
    writeFileSync(q4, `FROM ${(await home.store.resolve("ffq-embedded:latest")).path}\n`);
    const finer = await cli("embedded", ["create", "up", "-f", q4, "-q", "q8_0"]);
    expect(finer.code).toBe(1);
    expect(finer.stderr).toContain("is q4_0, less precise than --quantize q8_0");
  }, 120_000);

  it("FROM a model whose most precise variant is remote quantizes its most precise local one, in both modes", async () => {
    const synth = await cli("embedded", ["models", "synth", "--shape", "tiny", "--quant", "q8_0", "--name", "rmix"]);
    expect(synth.code, synth.stderr).toBe(0);
    const remote = await cli("embedded", ["models", "add-remote", "rmix:f16", "--url", "http://127.0.0.1:9/v1"]);
    expect(remote.code, remote.stderr).toBe(0);
    const file = join(home.home, "Modelfile.rmix");
    writeFileSync(file, "FROM rmix\nSYSTEM Mixed.\n");
    for (const mode of MODES) {
      const r = await cli(mode, ["create", `rmq-${mode}`, "-f", file, "-q", "q4_0"]);
      expect(r.code, `${mode}: ${r.stderr}`).toBe(0);
      const made = await home.store.resolve(`rmq-${mode}:q4_0`);
      expect(made.quantization, mode).toBe("q4_0");
      expect(made.manifest.modelfile?.system, mode).toBe("Mixed.");
    }
    expect((await home.store.variants("rmix")).map((v) => v.tag).sort()).toEqual(["f16", "q8_0"]);
  }, 120_000);
});

describe("create and cp onto an existing name", () => {
  it("replace it as ollama create / ollama cp do, with or without a server; models cp only with --force", async () => {
    await createModel("pirate", `FROM ${TINY}:q4_0\nSYSTEM Arr.\n`);
    await cli("embedded", ["cp", "pirate", "p2"]);
    for (const mode of MODES) {
      const file = join(home.home, `Modelfile.pirate-${mode}`);
      writeFileSync(file, `FROM ${TINY}:q4_0\nSYSTEM Ahoy ${mode}.\n`);
      const again = await cli(mode, ["create", "pirate", "-f", file]);
      expect(again.code, again.stderr).toBe(0);
      expect((await home.store.resolve("pirate:q4_0")).manifest.modelfile?.system).toBe(`Ahoy ${mode}.`);
      const cp = await cli(mode, ["cp", "pirate", "p2"]);
      expect(cp.code, cp.stderr).toBe(0);
      expect((await home.store.resolve("p2:q4_0")).manifest.modelfile?.system).toBe(`Ahoy ${mode}.`);
      // The flag older scripts pass is still accepted.
      expect((await cli(mode, ["cp", "pirate", "p2", "--force"])).code).toBe(0);
    }
    await createModel("pirate", `FROM ${TINY}:q4_0\nSYSTEM Arr.\n`);
    for (const mode of MODES) {
      const refused = await cli(mode, ["models", "cp", "pirate", "p2"]);
      expect(refused.code, mode).toBe(1);
      expect(refused.stderr, mode).toContain(
        "model p2:q4_0 already exists (remove it first, or replace it with --force)",
      );
      expect((await home.store.resolve("p2:q4_0")).manifest.modelfile?.system).not.toBe("Arr.");
    }
    for (const mode of MODES) {
      await createModel("pirate", `FROM ${TINY}:q4_0\nSYSTEM Arr ${mode}.\n`);
      const forced = await cli(mode, ["models", "cp", "pirate", "p2", "--force"]);
      expect(forced.code, forced.stderr).toBe(0);
      expect((await home.store.resolve("p2:q4_0")).manifest.modelfile?.system).toBe(`Arr ${mode}.`);
    }
  }, 120_000);
});

describe("sampling flags", () => {
  // Each bad value is refused by the CLI itself, before either path runs: one line in the flag's terms, the same in
  // both modes (through a server it was "options.top_p must be > 0", embedded "topP must be a number in (0, 1]").
  const BAD: [command: string[], flag: string, value: string, rule: string][] = [
    [["generate", "hi"], "--top-p", "0", "--top-p must be a number in (0, 1]"],
    [["generate", "hi"], "--top-p", "1.5", "--top-p must be a number in (0, 1]"],
    [["generate", "hi"], "--top-k", "100001", "--top-k must be an integer in [0, 100000]"],
    [["generate", "hi"], "--top-k", "-1", "--top-k must be an integer in [0, 100000]"],
    [["generate", "hi"], "--top-k", "2.5", "--top-k must be an integer in [0, 100000]"],
    [["generate", "hi"], "--temperature", "-0.5", "--temperature must be a number in [0, 10]"],
    [["generate", "hi"], "--temperature", "abc", "--temperature must be a number in [0, 10]"],
    [["generate", "hi"], "--seed", "-1", "--seed must be an integer in [0, 2147483647]"],
    [["generate", "hi"], "--seed", "2147483648", "--seed must be an integer in [0, 2147483647]"],
    [["generate", "hi"], "--max-tokens", "0", "--max-tokens must be an integer in [1, 1048576]"],
    [["generate", "hi"], "--max-tokens", "1048577", "--max-tokens must be an integer in [1, 1048576]"],
    [["chat"], "--temperature", "11", "--temperature must be a number in [0, 10]"],
    [["chat"], "--max-tokens", "0", "--max-tokens must be an integer in [1, 1048576]"],
  ];

  it.each(BAD)("%j %s %s is refused with the flag's rule in both modes", async (command, flag, value, rule) => {
    const printed: string[] = [];
    for (const mode of MODES) {
      const r = await cli(mode, [...command, "--model", `${TINY}:q4_0`, flag, value]);
      expect(r.code, mode).toBe(1);
      expect(r.stdout, mode).toBe("");
      const first = r.stderr.split("\n")[0];
      expect(first, mode).toMatch(/^error: option '.*' argument '.*' is invalid\. /);
      expect(first, mode).toContain(rule);
      expect(r.stderr, mode).not.toMatch(/options\.|topP|topK|maxTokens|using the server|running embedded/);
      printed.push(r.stderr);
    }
    expect(printed[1]).toBe(printed[0]);
  });

  it("the values at each flag's bounds are taken by both modes", async () => {
    const bounds = [
      ["--top-p", "1e-9", "--top-k", "100000", "--temperature", "10", "--seed", "2147483647"],
      ["--top-p", "1", "--top-k", "0", "--temperature", "0", "--seed", "0"],
    ];
    for (const flags of bounds)
      for (const mode of MODES) {
        const g = await generateJson(mode, ["hi", "--model", `${TINY}:q4_0`, "-n", "1", ...flags]);
        expect(g.completion_tokens, `${mode} ${flags.join(" ")}`).toBe(1);
      }
  }, 120_000);
});
