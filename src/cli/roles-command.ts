// `reflexia roles`: the expert roles (system-prompt presets), built-in and custom.
import type { Command } from "commander";
import { createRoleCatalog } from "../services/roles.ts";
import type { CliContextFactory } from "./context.ts";
import { printJson, table } from "./output.ts";

export function registerRolesCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("roles")
    .description("list expert roles (system-prompt presets); select one with --role")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const ctx = await getContext();
      const roles = createRoleCatalog(ctx.loaded.config.roles.custom).list();
      if (opts.json) return printJson(roles);
      process.stdout.write(
        table(
          roles.map((r) => ({ id: r.id, category: r.category, name: r.name })),
          ["id", "category", "name"],
        ) + "\n",
      );
    });
}
