// Ollama's model commands at the top level: list/ls, ps, pull, rm, show, stop, cp. Each goes through the running
// server when one answers (one view of the store and of what is loaded), else works on the store directly.
import { Option, type Command } from "commander";
import { tagsBody } from "../http/routes/ollama.ts";
import { ollamaShowBody } from "../http/routes/ollama/create-show.ts";
import { configuredPullOptions, parseModelRef, type RegistryPullProgress } from "../registry/index.ts";
import type { CliContextFactory } from "./context.ts";
import { formatAgo, formatBytes, printJson, table } from "./output.ts";

type TagsBody = ReturnType<typeof tagsBody>;
interface PsBody {
  models: {
    name: string;
    size: number;
    size_vram: number;
    expires_at: string;
    context_length: number;
    kind?: string;
  }[];
}
interface ShowBody {
  modelfile: string;
  parameters: string;
  template: string;
  system: string;
  license: string;
  details: { family: string; parameter_size: string; quantization_level: string; format: string };
  model_info: Record<string, unknown>;
  capabilities: string[];
}

/** One progress line per status and per whole percent, on stderr (stdout stays for results). */
export function progressPrinter(): (p: RegistryPullProgress | Record<string, unknown>) => void {
  let last = "";
  return (p) => {
    const status = String(p.status ?? "");
    const total = typeof p.total === "number" ? p.total : 0;
    const done = typeof p.completed === "number" ? p.completed : 0;
    const line = total > 0 ? `${status} ${Math.floor((done / total) * 100)}% of ${formatBytes(total)}` : status;
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
  };
}

export function registerModelAdminCommands(program: Command, getContext: CliContextFactory): void {
  for (const name of ["list", "ls"]) {
    program
      .command(name)
      .description(name === "ls" ? "same as list" : "list the models in the store (NAME ID SIZE MODIFIED)")
      .option("--json", "machine-readable output")
      .action(async (opts: { json?: boolean }) => {
        const ctx = await getContext();
        const server = await ctx.server();
        const models: TagsBody["models"] = server
          ? (await server.call<TagsBody>("GET", "/api/tags")).models
          : tagsBody(await ctx.store.list()).models;
        if (opts.json) return printJson({ models });
        process.stdout.write(
          table(
            models.map((m) => ({
              name: m.name,
              id: m.digest.slice(0, 12),
              // A remote variant has no file here: its size would read as an empty local one.
              size: m.kind === "remote" ? "remote" : formatBytes(m.size),
              modified: formatAgo(m.modified_at),
            })),
            ["name", "id", "size", "modified"],
          ) + "\n",
        );
      });
  }

  program
    .command("ps")
    .description("list the models the running server has loaded")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const ctx = await getContext();
      const server = await ctx.server();
      const models = server ? (await server.call<PsBody>("GET", "/api/ps")).models : [];
      if (opts.json) return printJson({ models });
      process.stdout.write(
        table(
          models.map((m) => ({
            name: m.name,
            size: m.kind === "remote" ? "-" : formatBytes(m.size),
            processor:
              m.kind === "remote"
                ? "remote"
                : m.size_vram > 0
                  ? `${Math.round((m.size_vram / m.size) * 100)}% GPU`
                  : "100% CPU",
            context: m.context_length,
            until: m.expires_at,
          })),
          ["name", "size", "processor", "context", "until"],
        ) + "\n",
      );
    });

  program
    .command("pull")
    .description("pull a model by name from the Ollama registry (or hf.co/OWNER/REPO:QUANT from Hugging Face)")
    .argument("<name>")
    .option("--insecure", "allow a name with an http:// registry (as ollama pull --insecure)")
    .action(async (name: string, opts: { insecure?: boolean }) => {
      const ctx = await getContext();
      const server = await ctx.server();
      const print = progressPrinter();
      const insecure = opts.insecure === true;
      if (server) await server.progress("/api/pull", { model: name, stream: true, insecure }, print);
      else {
        await ctx.store.pullFromRegistry(name, {
          ...configuredPullOptions(ctx.loaded.config.registry),
          onProgress: print,
          insecure,
        });
      }
    });

  program
    .command("rm")
    .description("remove models: name:tag, or a name as the variant `show` reports for it (`models rm` removes all)")
    .argument("<models...>")
    .action(async (refs: string[]) => {
      const ctx = await getContext();
      const server = await ctx.server();
      for (const ref of refs) {
        if (server) await server.call("DELETE", "/api/delete", { model: ref });
        // As /api/delete (and `ollama rm`): an untagged name is one variant, the one `show` reports.
        else if (parseModelRef(ref).tag) await ctx.store.remove(ref);
        else {
          const r = await ctx.store.resolve(ref, { requireBlob: false });
          await ctx.store.remove(`${r.name}:${r.tag}`);
        }
        process.stdout.write(`deleted '${ref}'\n`);
      }
    });

  program
    .command("cp")
    .description("copy a model under another name")
    .argument("<source>")
    .argument("<destination>")
    // As `ollama cp`, an existing destination is replaced; --force is still accepted from older scripts.
    .addOption(new Option("--force").hideHelp())
    .action(async (source: string, destination: string) => {
      const ctx = await getContext();
      const server = await ctx.server();
      if (server) await server.call("POST", "/api/copy", { source, destination });
      else await ctx.store.copy(source, destination, { force: true });
      process.stdout.write(`copied '${source}' to '${destination}'\n`);
    });

  program
    .command("stop")
    .description("unload a model from the running server")
    .argument("<model>")
    .action(async (model: string) => {
      const ctx = await getContext();
      const server = await ctx.server();
      if (!server) {
        process.stderr.write("no server is running, so no model is loaded\n");
        return;
      }
      await server.call("POST", "/api/generate", { model, keep_alive: 0 });
    });

  program
    .command("show")
    .description("show a model's details, or one part of it")
    .argument("<model>")
    .option("--modelfile", "the Modelfile")
    .option("--parameters", "the parameters")
    .option("--template", "the template")
    .option("--system", "the system message")
    .option("--license", "the license")
    .option("--json", "the whole /api/show object")
    .action(async (model: string, opts: Record<string, boolean | undefined>) => {
      const ctx = await getContext();
      const server = await ctx.server();
      let body: ShowBody;
      if (server) body = await server.call<ShowBody>("POST", "/api/show", { model });
      else {
        // The server's own body, built here: the same template, capabilities and model_info either way.
        body = ollamaShowBody(await ctx.store.show(model), {
          verbose: false,
          engineFim: ctx.loaded.config.engine.backend !== "node-llama-cpp",
        });
      }
      if (opts.json) return printJson(body);
      for (const k of ["modelfile", "parameters", "template", "system", "license"] as const)
        if (opts[k]) return void process.stdout.write(`${body[k]}\n`);
      const arch = String(body.model_info["general.architecture"] ?? body.details.family);
      const lines = [
        "  Model",
        `    architecture        ${arch}`,
        `    parameters          ${body.details.parameter_size}`,
        `    context length      ${String(body.model_info[`${arch}.context_length`] ?? "")}`,
        `    quantization        ${body.details.quantization_level}`,
        "",
        "  Capabilities",
        ...body.capabilities.map((c) => `    ${c}`),
      ];
      if (body.parameters) lines.push("", "  Parameters", ...body.parameters.split("\n").map((l) => `    ${l}`));
      if (body.system) lines.push("", "  System", `    ${body.system}`);
      if (body.license) lines.push("", "  License", `    ${body.license.split("\n")[0]}`);
      process.stdout.write(lines.join("\n") + "\n");
    });
}
