// `reflexia roles`: the expert roles (system-prompt presets), built-in and custom; through the running server when
// one answers (its roles), else this machine's config.
import type { Command } from "commander";
import type { RolesBody } from "../client/api-types.ts";
import { rolesBody } from "../http/routes/reflexia.ts";
import { createRoleCatalog } from "../services/roles.ts";
import type { CliContextFactory } from "./context.ts";
import { printJson, table } from "./output.ts";

export function registerRolesCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("roles")
    .description("list expert roles (system-prompt presets); select one with --role")
    .option("--json", "machine-readable output (GET /api/roles's body, with or without a server)")
    .action(async (opts: { json?: boolean }) => {
      const ctx = await getContext();
      const server = await ctx.server();
      // One object either way: the server's GET /api/roles body, built here by the route's mapping embedded.
      const body = server
        ? await server.call<RolesBody>("GET", "/api/roles")
        : rolesBody({ roles: createRoleCatalog(ctx.loaded.config.roles.custom) });
      if (opts.json) return printJson(body);
      process.stdout.write(
        table(
          body.roles.map((r) => ({ id: r.id, category: r.category, name: r.name })),
          ["id", "category", "name"],
        ) + "\n",
      );
    });
}
