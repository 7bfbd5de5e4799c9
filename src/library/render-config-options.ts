// Renders src/library/config-options.ts from the config table: the library's typed options, one per key, each with
// the key's description, default and environment variable, so the JSDoc can never drift from src/config/keys.ts.
// `npm run gen:options` rewrites the file; test/library-options.test.ts fails when it is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { CONFIG_KEYS, CONFIG_SCHEMA } from "../config/index.ts";

export const CONFIG_OPTIONS_FILE = fileURLToPath(new URL("./config-options.ts", import.meta.url));

/** Wraps words into comment lines of at most `width` characters after `indent` + " * ". */
function commentLines(text: string, indent: string, width = 116): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + 3 + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => `${indent} * ${l}`.replace(/\*\//g, "*\\/"));
}

function render(shape: Record<string, z.ZodType>, prefix: string, indent: string): string[] {
  const out: string[] = [];
  for (const [name, schema] of Object.entries(shape)) {
    const path = prefix + name;
    const def = CONFIG_KEYS.find((k) => k.key === path);
    if (def) {
      const access = path
        .split(".")
        .map((p) => `[${JSON.stringify(p)}]`)
        .join("");
      out.push(
        `${indent}/**`,
        ...commentLines(def.description, indent),
        `${indent} *`,
        ...commentLines(
          `Defaults to \`${JSON.stringify(def.default)}\` (config file \`${def.key}\`, environment \`${def.env}\`).`,
          indent,
        ),
        `${indent} */`,
        `${indent}${name}?: Config${access};`,
      );
    } else if (schema instanceof z.ZodObject) {
      out.push(
        `${indent}/** The \`${path}.*\` keys. */`,
        `${indent}${name}?: {`,
        ...render(schema.shape as Record<string, z.ZodType>, `${path}.`, `${indent}  `),
        `${indent}};`,
      );
    }
  }
  return out;
}

/** The text of src/library/config-options.ts. */
export function renderConfigOptions(): string {
  return [
    "// Generated from src/config/keys.ts by `npm run gen:options` (src/library/render-config-options.ts); do not edit.",
    "// The library's configuration options: every key of the config table, nested as in the config file.",
    'import type { Config } from "../config/index.ts";',
    "",
    "/** Configuration keys given in code; each wins over the environment and the config file. */",
    "export interface ReflexiaConfigOptions {",
    ...render(CONFIG_SCHEMA.shape as Record<string, z.ZodType>, "", "  "),
    "}",
    "",
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(CONFIG_OPTIONS_FILE, renderConfigOptions());
  process.stdout.write(`wrote ${CONFIG_OPTIONS_FILE}\n`);
}
