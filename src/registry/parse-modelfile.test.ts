import { describe, expect, it } from "vitest";
import { parseModelfile } from "./parse-modelfile.ts";

const NAMES = ["temperature", "top_k", "stop", "num_predict"];

describe("Modelfile parser", () => {
  it("reads every instruction, quoted and multi-line values, repeated stops", () => {
    const text = [
      "# a comment",
      "FROM ./tiny.gguf",
      "PARAMETER temperature 0.3",
      'PARAMETER stop "<|user|>"',
      "PARAMETER stop </s>",
      'SYSTEM """You are',
      'brief."""',
      'TEMPLATE "{{ .Prompt }}"',
      "MESSAGE user hi",
      'MESSAGE assistant "hello"',
      "LICENSE MIT",
    ].join("\n");
    expect(parseModelfile(text, "Modelfile", NAMES)).toEqual({
      from: "./tiny.gguf",
      settings: {
        parameters: { temperature: 0.3, stop: ["<|user|>", "</s>"] },
        system: "You are\nbrief.",
        template: "{{ .Prompt }}",
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "hello" },
        ],
        license: ["MIT"],
      },
    });
  });

  it("names the line of each error", () => {
    expect(() => parseModelfile("FROM x\n\nPARAMETER mirostat 2", "M", NAMES)).toThrow(
      /^M:3: unknown parameter "mirostat"/,
    );
    expect(() => parseModelfile("FROM x\nPARAMETER temperature hot", "M", NAMES)).toThrow(
      /^M:2: PARAMETER temperature needs a number/,
    );
    expect(() => parseModelfile('FROM x\nSYSTEM """never\nclosed', "M", NAMES)).toThrow(/^M:2: unterminated """/);
    expect(() => parseModelfile("FROM x\nFRUM y", "M", NAMES)).toThrow(/^M:2: unknown instruction "FRUM"/);
    expect(() => parseModelfile("FROM x\nMESSAGE wizard hi", "M", NAMES)).toThrow(/^M:2: MESSAGE needs a role/);
    expect(() => parseModelfile("FROM x\nADAPTER ./lora.gguf", "M", NAMES)).toThrow(/^M:2: ADAPTER/);
    expect(() => parseModelfile("SYSTEM hi", "M", NAMES)).toThrow(/^M:1: no FROM/);
    expect(() => parseModelfile('FROM x\nMESSAGE user "never closed', "M", NAMES)).toThrow(
      /^M:2: unterminated quoted value/,
    );
  });

  it("takes a quoted word leading plain text as text, quotes included (the quote is closed)", () => {
    const text = 'FROM x\nMESSAGE user "quoted" words\nSYSTEM "Be" brief';
    expect(parseModelfile(text, "M", NAMES).settings).toEqual({
      messages: [{ role: "user", content: '"quoted" words' }],
      system: '"Be" brief',
    });
  });
});
