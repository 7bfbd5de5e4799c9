// `reflexia create NAME -f Modelfile`: a model from a Modelfile (FROM a model or a GGUF file, with its settings),
// through the running server (the GGUF uploaded as a blob) or directly into the store.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { modelParameterProblem } from "../http/routes/ollama/check-options.ts";
import { parseModelfile } from "../registry/parse-modelfile.ts";
import { parseModelRef } from "../registry/index.ts";
import { MODEL_PARAMETER_NAMES } from "../services/apply-modelfile.ts";
import { normalizeQuantization } from "../services/model-service.ts";
import type { CliContextFactory } from "./context.ts";
import { progressPrinter } from "./model-admin.ts";

export function registerCreateCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("create")
    .description("create a model from a Modelfile (FROM, PARAMETER, SYSTEM, TEMPLATE, MESSAGE, LICENSE)")
    .argument("<name>", "name or name:tag of the new model")
    .option("-f, --file <path>", "the Modelfile", "Modelfile")
    .option("-q, --quantize <type>", "quantize the FROM model (q4_0, q4_k_m, q5_k_m, q8_0, f16)")
    .action(async (name: string, opts: { file: string; quantize?: string }) => {
      const ctx = await getContext();
      const text = await readFile(opts.file, "utf8");
      // Values are held to a request option's rules here too, so neither path stores what no request could run.
      const parsed = parseModelfile(text, opts.file, MODEL_PARAMETER_NAMES, modelParameterProblem);
      // FROM names a file when one exists there (relative to the Modelfile), else a model, as Ollama decides.
      const fromPath = resolve(dirname(resolve(opts.file)), parsed.from.replace(/^~(?=\/)/, homedir()));
      const isFile = existsSync(fromPath);
      const server = await ctx.server();
      const print = progressPrinter();
      if (server) {
        let body: Record<string, unknown>;
        if (isFile) {
          const bytes = await readFile(fromPath);
          const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
          print({ status: `uploading ${digest.slice(7, 19)}` });
          await server.uploadBlob(
            digest,
            new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) as Uint8Array<ArrayBuffer>,
          );
          body = { model: name, files: { "model.gguf": digest } };
        } else body = { model: name, from: parsed.from, quantize: opts.quantize };
        await server.progress("/api/create", { ...body, ...parsed.settings, stream: true }, print);
      } else {
        const ref = parseModelRef(name);
        if (isFile) {
          await ctx.store.add(fromPath, {
            name: ref.name,
            tag: ref.tag ?? "latest",
            source: { kind: "create", from: fromPath },
            modelfile: parsed.settings,
          });
        } else {
          const q = opts.quantize ? normalizeQuantization(opts.quantize) : undefined;
          if (q && !(await ctx.store.variants(parseModelRef(parsed.from).name)).some((v) => v.tag === q))
            await ctx.store.quantize(parsed.from, [q]);
          await ctx.store.copy(q ? `${parseModelRef(parsed.from).name}:${q}` : parsed.from, name, {
            modelfile: parsed.settings,
            source: { kind: "create", from: parsed.from },
          });
        }
      }
      process.stdout.write(`created ${name}\n`);
    });
}
