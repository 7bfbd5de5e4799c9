// Reads a secret named by configuration (a file or an environment variable) at the moment it is needed, so the
// value itself never sits in a manifest, the config dump or a log line.
import { readFileSync } from "node:fs";
import { ReflexiaError } from "../errors/index.ts";

export interface SecretSource {
  /** File whose first non-empty line is the secret. */
  file?: string;
  /** Environment variable holding the secret. */
  env?: string;
}

/** The secret, or undefined when no source is named; a named source that is missing or empty is a config error. */
export function readSecret(
  source: SecretSource,
  what: string,
  environment: Record<string, string | undefined> = process.env,
): string | undefined {
  if (source.file) {
    let text: string;
    try {
      text = readFileSync(source.file, "utf8");
    } catch (e) {
      throw new ReflexiaError(
        "RFX_CONFIG_INVALID",
        `${what}: key file ${source.file}: ${(e as NodeJS.ErrnoException).code ?? "unreadable"}`,
      );
    }
    const line = text.split(/\r?\n/).find((l) => l.trim() !== "");
    if (!line) throw new ReflexiaError("RFX_CONFIG_INVALID", `${what}: key file ${source.file} is empty`);
    return line.trim();
  }
  if (source.env) {
    const v = environment[source.env];
    if (!v) throw new ReflexiaError("RFX_CONFIG_INVALID", `${what}: environment variable ${source.env} is not set`);
    return v.trim();
  }
  return undefined;
}

/** Whether the environment variable `name` holds a secret readSecret would take (set and not empty). */
export function secretVariableIsSet(
  name: string,
  environment: Record<string, string | undefined> = process.env,
): boolean {
  return Boolean(environment[name]);
}
