// `reflexia create NAME -f Modelfile`: a model from a Modelfile (FROM a model or a GGUF file, with its settings),
// through the running server (the GGUF uploaded as a blob) or directly into the store.
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, resolve } from "node:path";
import { Readable } from "node:stream";
import { Option, type Command } from "commander";
import { normalizeQuantization, type Quantization } from "../config/index.ts";
import { modelParameterProblem } from "../http/routes/ollama/check-options.ts";
import { parseModelfile, type ParsedModelfile } from "../registry/parse-modelfile.ts";
import { feedHash, parseModelRef, type ModelStore } from "../registry/index.ts";
import { MODEL_PARAMETER_NAMES } from "../services/apply-modelfile.ts";
import type { CliContextFactory } from "./context.ts";
import { progressPrinter } from "./model-admin.ts";

export function registerCreateCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("create")
    .description("create a model from a Modelfile (FROM, PARAMETER, SYSTEM, TEMPLATE, MESSAGE, LICENSE)")
    .argument("<name>", "name or name:tag of the new model")
    .option("-f, --file <path>", "the Modelfile", "Modelfile")
    .option("-q, --quantize <type>", "quantize the FROM model (q4_0, q4_k_m, q5_k_m, q8_0, f16)")
    // As `ollama create`, an existing model of that name is replaced; --force is still accepted from older scripts.
    .addOption(new Option("--force").hideHelp())
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
          // Hashed, then uploaded, as streams: a GGUF may be larger than one read (2 GiB) or than memory.
          const digest = `sha256:${(await feedHash(createHash("sha256"), fromPath)).digest("hex")}`;
          print({ status: `uploading ${digest.slice(7, 19)}` });
          await server.uploadBlob(
            digest,
            () => Readable.toWeb(createReadStream(fromPath)) as ReadableStream<Uint8Array>,
          );
          body = { model: name, files: { "model.gguf": digest }, quantize: opts.quantize };
        } else body = { model: name, from: parsed.from, quantize: opts.quantize };
        await server.progress("/api/create", { ...body, ...parsed.settings, stream: true }, print);
      } else {
        const q = opts.quantize ? normalizeQuantization(opts.quantize) : undefined;
        await createEmbedded(ctx.store, name, parsed, isFile ? fromPath : undefined, q);
      }
      process.stdout.write(`created ${name}\n`);
    });
}

/**
 * The embedded create, as /api/create makes it: FROM a file is added under `name` (tag `latest` unless named); FROM a
 * model is copied (its settings under the Modelfile's). With `q`, the store's quantizeInto makes it, as /api/create
 * does: the new model is quantized from the file or from the model's variant into a file of its own. What `name` held
 * under the tags written is replaced, as /api/create replaces it.
 */
async function createEmbedded(
  store: ModelStore,
  name: string,
  parsed: ParsedModelfile,
  fromPath: string | undefined,
  q: Quantization | undefined,
): Promise<void> {
  const force = true;
  const source = { kind: "create" as const, from: fromPath ?? parsed.from };
  const options = { modelfile: parsed.settings, source, force, option: "--quantize" };
  if (fromPath !== undefined) {
    if (q) await store.quantizeInto({ file: fromPath }, q, name, { ...options, fileLabel: `FROM ${parsed.from}` });
    else {
      const to = parseModelRef(name);
      await store.add(fromPath, { name: to.name, tag: to.tag ?? "latest", source, modelfile: parsed.settings, force });
    }
  } else if (q) await store.quantizeInto({ model: parsed.from }, q, name, options);
  else await store.copy(parsed.from, name, { modelfile: parsed.settings, source, force });
}
