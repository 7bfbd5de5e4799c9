// Parses Ollama's Modelfile (FROM, PARAMETER, SYSTEM, TEMPLATE, MESSAGE, LICENSE; "quoted" and """multi-line"""
// values, # comments) into a create request's parts; every error names its line.
import { ReflexiaError } from "../errors/index.ts";
import type { ModelfileMessage, ModelfileSettings } from "./types.ts";

export interface ParsedModelfile {
  /** A model reference or a path to a GGUF file (relative to the Modelfile's directory, resolved by the caller). */
  from: string;
  settings: ModelfileSettings;
}

const INSTRUCTIONS = ["from", "parameter", "system", "template", "message", "license", "adapter"] as const;
const ROLES = ["system", "user", "assistant"];

/**
 * `where` names the file in errors (`Modelfile:12: …`); `parameterNames` are the ones a model may carry, and
 * `parameterProblem` says why a value cannot be one's default (the caller's rules: a request option's range).
 */
export function parseModelfile(
  text: string,
  where: string,
  parameterNames: readonly string[],
  parameterProblem?: (name: string, value: unknown) => string | undefined,
): ParsedModelfile {
  const lines = text.split(/\r?\n/);
  const fail = (line: number, why: string): never => {
    throw new ReflexiaError("RFX_VALIDATION", `${where}:${line}: ${why}`, { line });
  };
  let from: string | undefined;
  const settings: ModelfileSettings = {};
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const trimmed = lines[i].trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(trimmed)!;
    const word = m[1].toLowerCase();
    if (!(INSTRUCTIONS as readonly string[]).includes(word))
      fail(
        lineNo,
        `unknown instruction ${JSON.stringify(m[1])} (expected FROM, PARAMETER, SYSTEM, TEMPLATE, MESSAGE, LICENSE)`,
      );
    let rest = m[2];
    // A """ value runs to the line that closes it.
    const readValue = (value: string): string => {
      if (value.startsWith('"""')) {
        let body = value.slice(3);
        const start = lineNo;
        while (!body.endsWith('"""') || body.length < 3) {
          i++;
          if (i >= lines.length) fail(start, 'unterminated """ value');
          body += "\n" + lines[i];
        }
        return body.slice(0, -3);
      }
      // A quoted word leading plain text (MESSAGE user "quoted" words) is text, quotes and all: the quote is closed.
      if (value.startsWith('"') && !(value.endsWith('"') && value.length >= 2)) {
        if (!/^"(?:[^"\\]|\\.)*"/.test(value)) fail(lineNo, "unterminated quoted value");
        return value;
      }
      if (value.startsWith('"')) {
        try {
          return JSON.parse(value) as string;
        } catch {
          return value.slice(1, -1);
        }
      }
      return value;
    };
    if (word === "adapter") fail(lineNo, "ADAPTER (LoRA adapters) is not supported");
    if (word === "from") {
      if (!rest) fail(lineNo, "FROM needs a model name or a GGUF file");
      if (from !== undefined) fail(lineNo, "FROM given twice");
      from = readValue(rest);
    } else if (word === "system") settings.system = readValue(rest);
    else if (word === "template") settings.template = readValue(rest);
    else if (word === "license") settings.license = [...(settings.license ?? []), readValue(rest)];
    else if (word === "message") {
      const mm = /^(\S+)\s+([\s\S]+)$/.exec(rest);
      if (!mm || !ROLES.includes(mm[1].toLowerCase()))
        fail(lineNo, "MESSAGE needs a role (system, user, assistant) and text");
      const msg: ModelfileMessage = {
        role: mm![1].toLowerCase() as ModelfileMessage["role"],
        content: readValue(mm![2]),
      };
      settings.messages = [...(settings.messages ?? []), msg];
    } else {
      const pm = /^(\S+)\s+([\s\S]+)$/.exec(rest);
      if (!pm) fail(lineNo, "PARAMETER needs a name and a value");
      const [, name, raw] = pm!;
      if (!parameterNames.includes(name))
        fail(lineNo, `unknown parameter ${JSON.stringify(name)} (supported: ${parameterNames.join(", ")})`);
      const params = (settings.parameters ??= {});
      if (name === "stop") params.stop = [...((params.stop as string[]) ?? []), readValue(raw)];
      else {
        const n = Number(raw);
        if (!Number.isFinite(n)) fail(lineNo, `PARAMETER ${name} needs a number, got ${JSON.stringify(raw)}`);
        params[name] = n;
      }
      const problem = parameterProblem?.(name, params[name]);
      if (problem) fail(lineNo, `PARAMETER ${name} ${problem}`);
    }
    rest = "";
  }
  if (from === undefined) fail(1, "no FROM instruction");
  return { from: from!, settings };
}
