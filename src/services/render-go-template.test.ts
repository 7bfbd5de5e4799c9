import { describe, expect, it } from "vitest";
import { MAX_STRUCTURE_DEPTH } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { parseGoTemplate, renderGoTemplate, TEMPLATE_FIELDS } from "./render-go-template.ts";

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

describe("templates a client can send are refused with a 4xx reason, never rendered wrongly or overflowing", () => {
  const ifs = (n: number) => "{{ if .Prompt }}".repeat(n) + "{{ .Prompt }}" + "{{ end }}".repeat(n);
  const nots = (n: number) => "{{ if " + "not (".repeat(n) + ".Prompt" + ")".repeat(n) + " }}x{{ end }}";

  it(`renders {{ if }} blocks and parentheses nested ${MAX_STRUCTURE_DEPTH} deep; one more or 30,000 is a RFX_VALIDATION naming the depth and the limit`, () => {
    expect(renderGoTemplate(ifs(MAX_STRUCTURE_DEPTH), { Prompt: "P" })).toBe("P");
    expect(renderGoTemplate(nots(MAX_STRUCTURE_DEPTH), { Prompt: "P" })).toBe("x");
    for (const [t, depth] of [
      [ifs(MAX_STRUCTURE_DEPTH + 1), "65"],
      [ifs(50_000), "50,000"],
      [nots(MAX_STRUCTURE_DEPTH + 1), "65"],
      [nots(20_000), "20,000"],
    ] as const) {
      let caught: unknown;
      try {
        parseGoTemplate(t);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ReflexiaError);
      expect((caught as ReflexiaError).code).toBe("RFX_VALIDATION");
      expect((caught as ReflexiaError).message).toContain(`nested ${depth} levels deep; the limit is 64`);
    }
  });

  it("refuses an unclosed action, as Go's parser does, instead of rendering it as text", () => {
    expect(() => parseGoTemplate("{{")).toThrow(/unclosed action at line 1/);
    expect(() => parseGoTemplate("a\n{{ .Prompt }}\nb {{ .System")).toThrow(/unclosed action at line 3/);
  });

  it("refuses a field Ollama's template data lacks, by name; Ollama's own fields and a range element's are read", () => {
    expect(() => parseGoTemplate("{{ .Foo }}")).toThrow(/can't evaluate field Foo/);
    expect(() => parseGoTemplate("{{ if and .Prompt .Foo }}x{{ end }}")).toThrow(/can't evaluate field Foo/);
    expect(() => parseGoTemplate("{{ range .Messages }}{{ $.Foo }}{{ end }}")).toThrow(/can't evaluate field Foo/);
    expect(() => parseGoTemplate("{{ range .Messages }}{{ else }}{{ .Role }}{{ end }}")).toThrow(
      /can't evaluate field Role/,
    );
    for (const f of TEMPLATE_FIELDS) expect(() => parseGoTemplate(`{{ if .${f} }}{{ $.${f} }}{{ end }}`)).not.toThrow();
    expect(
      renderGoTemplate("{{ range .Messages }}{{ if .ToolCalls }}t{{ else }}{{ .Role }}{{ end }}{{ end }}", {
        Messages: [{ Role: "user" }],
      }),
    ).toBe("user");
  });
});
