// The published package, as a user gets it: `npm pack`, install the tarball into an empty folder (dependencies from
// the npm cache where it has them, else the registry; the install script builds the native addon), then a
// TypeScript file importing "reflexia" must pass `tsc --strict` (no skipLibCheck: our .d.ts files are checked too)
// and run batchGenerate over the product guide's three prompts on the offline tiny model.
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  devDependencies: Record<string, string>;
};
const PROMPTS = ["What is quantum computing?", "Explain machine learning", "Summarize the history of the internet"];

let work: string;

/** The environment without the npm_* variables of an enclosing `npm test`, so nested npm runs are plain. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  for (const k of ["REFLEXIA_CONFIG", "DEFAULT_MODEL", "ENGINE", "NODE_OPTIONS"]) delete env[k];
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], options: SpawnSyncOptions): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 420_000, env: cleanEnv(), ...options });
  expect(
    r.status,
    `${cmd} ${args.join(" ")} failed:\n${String(r.stdout).slice(-4000)}\n${String(r.stderr).slice(-4000)}`,
  ).toBe(0);
  return String(r.stdout);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rfx-pack-"));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true, maxRetries: 3 });
});

const CONSUMER = `import { createReflexia, ReflexiaError, type BatchItem, type Reflexia } from "reflexia";

const prompts: string[] = ${JSON.stringify(PROMPTS)};
const reflexia: Reflexia = await createReflexia({ scheduler: { parallel: 4 } });
try {
  const items: BatchItem[] = await reflexia.batchGenerate(prompts, { maxTokens: 8, temperature: 0 });
  items.forEach((item, i) => {
    if (item.ok) console.log(\`ok \${i} \${item.result.meta.variant} \${item.result.completionTokens}\`);
    else console.log(\`failed \${i} \${item.error.code}\`);
  });
} catch (e) {
  if (e instanceof ReflexiaError) console.error(e.code, e.message);
  throw e;
} finally {
  await reflexia.close();
}
`;

describe("npm pack → install → tsc --strict → run", () => {
  it("installs the tarball into an empty folder, type-checks a consumer strictly and runs batchGenerate", async () => {
    // prepack (tsc → dist/, the web UI build) prints to stdout before npm's JSON.
    const packOut = run("npm", ["pack", "--json", "--pack-destination", work], { cwd: ROOT });
    const packed = JSON.parse(packOut.slice(packOut.search(/^\[/m))) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0].files.map((f) => f.path);
    // Only what runs: the compiled library and CLI, the addon's sources (built on install), the built web UI.
    expect(files).toContain("dist/index.js");
    expect(files).toContain("dist/index.d.ts");
    expect(files).toContain("native/binding.gyp");
    expect(files).toContain("web/dist/index.html");
    expect(files.filter((f) => /^(src|test|examples|deploy|kubernetes)\//.test(f) || /\.test\./.test(f))).toEqual([]);

    const consumer = join(work, "consumer");
    await mkdir(consumer);
    await writeFile(
      join(consumer, "package.json"),
      JSON.stringify({
        name: "reflexia-consumer",
        private: true,
        type: "module",
        allowScripts: { reflexia: true, koffi: true, "node-llama-cpp": true, esbuild: true },
      }),
    );
    run(
      "npm",
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        join(work, packed[0].filename),
        `typescript@${PKG.devDependencies.typescript}`,
        `@types/node@${PKG.devDependencies["@types/node"]}`,
      ],
      { cwd: consumer },
    );
    // The install script built the native decode engine from the shipped sources.
    expect(existsSync(join(consumer, "node_modules/reflexia/native/build/Release/reflexia_native.node"))).toBe(true);

    await writeFile(join(consumer, "main.ts"), CONSUMER);
    await writeFile(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          outDir: "out",
          types: ["node"],
        },
        files: ["main.ts"],
      }),
    );
    run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { cwd: consumer });

    const out = run(process.execPath, ["out/main.js"], {
      cwd: consumer,
      env: cleanEnv({ REFLEXIA_HOME: join(work, "home") }),
    });
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(3);
    lines.forEach((l, i) => expect(l).toMatch(new RegExp(`^ok ${i} reflexia-tiny:\\w+ [1-8]$`)));
  }, 600_000);
});
