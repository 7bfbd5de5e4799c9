// The reflexia command line: global options, one registered command per file, one error format.
import { Command } from "commander";
import { CONFIG_KEYS, packageVersion } from "../config/index.ts";
import { registerChatCommand } from "./chat.ts";
import { registerCreateCommand } from "./create.ts";
import { registerModelAdminCommands } from "./model-admin.ts";
import { registerRunCommand } from "./run.ts";
import { registerConfigCommand } from "./config-command.ts";
import { createCliContextFactory } from "./context.ts";
import { registerGenerateCommand } from "./generate.ts";
import { registerModelsCommand } from "./models.ts";
import { registerModelsFitCommand } from "./models-fit.ts";
import { reportError } from "./output.ts";
import { registerRolesCommand } from "./roles-command.ts";
import { registerServeCommand } from "./serve.ts";
import { registerBenchmarkCommand } from "./benchmark.ts";
import { registerDocsCommand } from "./docs.ts";
import { registerDoctorCommand } from "./doctor.ts";
import { registerLoadTestCommand } from "./load-test.ts";
import { registerUsageCommand } from "./usage.ts";

export function buildProgram(): Command {
  const program = new Command("reflexia")
    .description("Run GGUF language models locally through llama.cpp and measure how well they run.")
    .version(packageVersion())
    .option("-c, --config <file>", "config file (default: $REFLEXIA_CONFIG or ./reflexia.config.json)")
    .option("--home <dir>", "data directory (overrides REFLEXIA_HOME)")
    .option("--threads <n>", "decode threads (overrides performance.thread_pool_size)")
    .option("--local", "run embedded even when a server answers (generate, chat, run, docs, models, ps, …)")
    .option("--benchmark", "run the benchmark suite (same as `reflexia benchmark`)")
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nEnvironment variables:\n" + CONFIG_KEYS.map((k) => `  ${k.env.padEnd(30)} ${k.description}`).join("\n"),
    );
  const getContext = createCliContextFactory(program);
  registerConfigCommand(program, getContext);
  const modelsContext = async () => {
    const ctx = await getContext();
    return { config: ctx.loaded.config, store: ctx.store, server: () => ctx.server() };
  };
  registerModelsFitCommand(registerModelsCommand(program, modelsContext), modelsContext);
  registerGenerateCommand(program, getContext);
  registerChatCommand(program, getContext);
  registerRunCommand(program, getContext);
  registerCreateCommand(program, getContext);
  registerModelAdminCommands(program, getContext);
  registerRolesCommand(program, getContext);
  registerServeCommand(program, getContext);
  registerBenchmarkCommand(program, getContext);
  registerDocsCommand(program, getContext);
  registerDoctorCommand(program, getContext);
  registerLoadTestCommand(program, getContext);
  registerUsageCommand(program, getContext);
  return program;
}

// `reflexia run m "…" | head` closes stdout early: that ends the output, it is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

const program = buildProgram();
const argv = process.argv.slice(2);
// `reflexia --benchmark [...]` is the guide's spelling of `reflexia benchmark`.
const args =
  argv.includes("--benchmark") && !argv.includes("benchmark")
    ? ["benchmark", ...argv.filter((a) => a !== "--benchmark")]
    : argv;
try {
  await program.parseAsync(args, { from: "user" });
} catch (e) {
  reportError(e);
}
