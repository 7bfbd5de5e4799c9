import { describe, expect, it } from "vitest";
import { parseGoTemplate, renderGoTemplate } from "./render-go-template.ts";

describe("Go-template subset of Ollama prompt templates", () => {
  it("renders fields, if/else and trim markers", () => {
    const t = "{{ if .System }}<sys>{{ .System }}</sys>\n{{- end }}\n<user>{{ .Prompt }}</user>";
    expect(renderGoTemplate(t, { System: "S", Prompt: "P" })).toBe("<sys>S</sys>\n<user>P</user>");
    expect(renderGoTemplate(t, { Prompt: "P" })).toBe("\n<user>P</user>");
  });

  it("ranges over .Messages with eq on the role and $ for the root", () => {
    const t =
      '{{- range .Messages }}{{ if eq .Role "user" }}U:{{ .Content }}{{ else if eq .Role "system" }}S:{{ .Content }}{{ else }}A:{{ .Content }}{{ end }}|{{ end }}{{ $.Suffix }}';
    const messages = [
      { Role: "system", Content: "be brief" },
      { Role: "user", Content: "hi" },
      { Role: "assistant", Content: "yo" },
    ];
    expect(renderGoTemplate(t, { Messages: messages, Suffix: "A:" })).toBe("S:be brief|U:hi|A:yo|A:");
  });

  it("refuses what it does not render, by name", () => {
    expect(() => parseGoTemplate('{{ template "x" }}')).toThrow(/\{\{ template \}\} is not supported/);
    expect(() => parseGoTemplate("{{ .Prompt | upper }}")).toThrow(/not supported/);
    expect(() => parseGoTemplate("{{ range $i, $m := .Messages }}{{ end }}")).toThrow(/range with variables/);
    expect(() => parseGoTemplate("{{ if .System }}x")).toThrow(/without \{\{ end \}\}/);
    expect(() => parseGoTemplate("{{ slice .Messages 1 }}")).toThrow(/the function "slice"/);
  });
});
