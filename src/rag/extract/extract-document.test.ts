import { describe, expect, it } from "vitest";
import { isReflexiaError, type ErrorCode } from "../../errors/index.ts";
import { decodeHtmlEntities } from "./html-to-text.ts";
import { extractDocument } from "./extract-document.ts";
import { MAX_JSON_DEPTH } from "../../config/index.ts";
import { sanitizeTitle } from "./sanitize-title.ts";
import { writeMinimalPdf } from "./write-minimal-pdf.ts";

async function rejects(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(p).rejects.toSatisfy((e) => isReflexiaError(e) && e.code === code);
}

describe("extractDocument", () => {
  it("reads UTF-8 text, drops the BOM, normalises line endings and hashes the raw bytes", async () => {
    const bytes = Buffer.from("\uFEFFLine one\r\nLine two\r\n", "utf8");
    const d = await extractDocument({ content: bytes, filename: "notes.txt" });
    expect(d).toMatchObject({
      text: "Line one\nLine two\n",
      type: "text",
      mimeType: "text/plain",
      title: "notes.txt",
      size: bytes.length,
    });
    expect(d.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await extractDocument({ content: bytes })).sha256).toBe(d.sha256);
  });

  it("decodes UTF-16 with a BOM and legacy 8-bit text", async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("Grüße aus Köln", "utf16le")]);
    expect((await extractDocument({ content: utf16 })).text).toBe("Grüße aus Köln");
    const latin1 = Buffer.from("Café crème brûlée, très bien.", "latin1");
    expect((await extractDocument({ content: latin1 })).text).toBe("Café crème brûlée, très bien.");
  });

  it("titles a document from the title, else the file name, else the content", async () => {
    expect((await extractDocument({ content: "x", filename: "a.txt", title: "Q3/Q4 report" })).title).toBe(
      "Q3/Q4 report",
    );
    expect((await extractDocument({ content: "# Heading here\nbody" })).title).toBe("Heading here");
    expect((await extractDocument({ content: "body", filename: ".." })).title).toBe("body");
  });

  it("recognises Markdown by extension and by content", async () => {
    expect((await extractDocument({ content: "plain words", filename: "r.md" })).type).toBe("markdown");
    const md = "# Title\n\nSome text with a [link](http://x).\n\n- item one\n- item two\n";
    const d = await extractDocument({ content: md });
    expect(d.type).toBe("markdown");
    expect(d.text).toBe(md);
  });

  it("extracts HTML text without scripts, styles or tags, decoding entities, whatever the file is called", async () => {
    const html = `<!DOCTYPE html><html><head><title>Caf&eacute; &amp; Bar</title><style>p{color:red}</style>
      <script>var secret = "<p>not text</p>";</script></head><body><h1>Menu</h1><p>Tea &lt;hot&gt; &#8212; 3&nbsp;&euro;</p>
      <!-- a comment --><ul><li>One</li><li>Two</li></ul><noscript>enable js</noscript></body></html>`;
    const d = await extractDocument({ content: html, filename: "menu.txt" });
    expect(d.type).toBe("html");
    expect(d.title).toBe("menu.txt");
    expect(d.text).toContain("Menu");
    expect(d.text).toContain("Tea <hot> — 3 €");
    expect(d.text).toMatch(/One\s+Two/);
    for (const hidden of ["secret", "color", "comment", "enable js", "<p>", "&amp;"])
      expect(d.text).not.toContain(hidden);
    expect((await extractDocument({ content: html })).title).toBe("Café & Bar");
  });

  it("decodes numeric entities safely", () => {
    expect(decodeHtmlEntities("&#65;&#x42;&#xD800;&#0;&bogus;&amp")).toBe("AB\uFFFD\uFFFD&bogus;&");
  });

  it("reads the text layer of a PDF by its magic bytes, even named .txt", async () => {
    const pdf = writeMinimalPdf(["The capital of Zorvania is Blenport.", "Second page text."], { title: "Atlas" });
    const d = await extractDocument({ content: pdf, filename: "atlas.txt" });
    expect(d.type).toBe("pdf");
    expect(d.mimeType).toBe("application/pdf");
    expect(d.text).toBe("The capital of Zorvania is Blenport.\n\nSecond page text.");
    expect((await extractDocument({ content: pdf })).title).toBe("Atlas");
  });

  it("refuses an empty PDF, an unreadable PDF and a PDF without text", async () => {
    await rejects(
      extractDocument({ content: Buffer.alloc(0), filename: "empty.pdf", mimeType: "application/pdf" }),
      "RFX_EMPTY_DOCUMENT",
    );
    await rejects(
      extractDocument({ content: Buffer.from("%PDF-1.7\nthis is not really a pdf"), filename: "x.pdf" }),
      "RFX_UNSUPPORTED_MEDIA",
    );
    await rejects(extractDocument({ content: writeMinimalPdf([""]) }), "RFX_EMPTY_DOCUMENT");
  });

  it("treats a .pdf name on text content as text: the content decides", async () => {
    const d = await extractDocument({ content: "just text", filename: "fake.pdf" });
    expect(d.type).toBe("text");
  });

  it("flattens JSON and JSON Lines into path: value lines", async () => {
    const d = await extractDocument({
      content: JSON.stringify({ user: { name: "Alice", tags: ["a", "b"] }, ok: true, n: null }),
      filename: "u.json",
    });
    expect(d.type).toBe("json");
    expect(d.text).toBe("user.name: Alice\nuser.tags[0]: a\nuser.tags[1]: b\nok: true\nn: null");
    const lines = await extractDocument({ content: '{"city":"Blenport"}\n{"city":"Varnholt"}\n', filename: "c.jsonl" });
    expect(lines.text).toBe("city: Blenport\n\ncity: Varnholt");
    const arr = await extractDocument({ content: '[{"a":1},{"a":2}]' });
    expect(arr.text).toBe("[0].a: 1\n\n[1].a: 2");
    expect((await extractDocument({ content: "{not json", filename: "bad.json" })).type).toBe("text");
  });

  it("refuses JSON nested past MAX_JSON_DEPTH with a 4xx code instead of overflowing the stack; deep but bounded JSON reads", async () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    await rejects(extractDocument({ content: deep, filename: "deep.json" }), "RFX_VALIDATION");
    const objects = '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000);
    await rejects(extractDocument({ content: objects, mimeType: "application/json" }), "RFX_VALIDATION");
    const ok = await extractDocument({
      content: '{"a":'.repeat(MAX_JSON_DEPTH) + '"leaf"' + "}".repeat(MAX_JSON_DEPTH),
      filename: "ok.json",
    });
    expect(ok.type).toBe("json");
    expect(ok.text).toContain("leaf");
    await rejects(
      extractDocument({
        content: '{"a":'.repeat(MAX_JSON_DEPTH + 1) + "1" + "}".repeat(MAX_JSON_DEPTH + 1),
        filename: "x.json",
      }),
      "RFX_VALIDATION",
    );
  });

  it("renders CSV and TSV rows as header: value pairs, honouring quotes", async () => {
    const csv = 'name,city,note\nAlice,Blenport,"likes tea, coffee"\nBob,Varnholt,"two\nlines"\n';
    const d = await extractDocument({ content: csv, filename: "people.csv" });
    expect(d.type).toBe("csv");
    expect(d.text).toBe(
      "name: Alice; city: Blenport; note: likes tea, coffee\nname: Bob; city: Varnholt; note: two lines",
    );
    expect((await extractDocument({ content: "a\tb\n1\t2\n", filename: "t.tsv" })).text).toBe("a: 1; b: 2");
  });

  it("recognises source code by extension and keeps it verbatim", async () => {
    const src = "export function add(a: number, b: number) {\n  return a + b;\n}\n";
    const d = await extractDocument({ content: src, filename: "math.ts" });
    expect(d).toMatchObject({ type: "code", language: "typescript", mimeType: "text/x-typescript", text: src });
    expect((await extractDocument({ content: "#!/usr/bin/env python\nprint(1)\n" })).type).toBe("code");
    expect((await extractDocument({ content: '{"a": 1}', filename: "tsconfig.ts" })).type).toBe("code");
  });

  it("refuses binary content whatever its name", async () => {
    await rejects(
      extractDocument({
        content: Buffer.from([0x48, 0x69, 0x00, 0x01, 0x02, 0x03]),
        filename: "notes.txt",
        mimeType: "text/plain",
      }),
      "RFX_UNSUPPORTED_MEDIA",
    );
    await rejects(
      extractDocument({
        content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x41]),
        filename: "readme.md",
      }),
      "RFX_UNSUPPORTED_MEDIA",
    );
    // Bytes 0x80-0xff without NULs or control bytes: invalid UTF-8 everywhere.
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => 0x80 + ((i * 37) % 128)));
    await rejects(extractDocument({ content: noise, filename: "x.txt" }), "RFX_UNSUPPORTED_MEDIA");
    const ctrl = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i % 5 === 0 ? 0x02 : 0x41)));
    await rejects(extractDocument({ content: ctrl, filename: "y.txt" }), "RFX_UNSUPPORTED_MEDIA");
  });

  it("refuses empty and whitespace-only documents", async () => {
    await rejects(extractDocument({ content: "" }), "RFX_EMPTY_DOCUMENT");
    await rejects(extractDocument({ content: " \n\t\r\n " }), "RFX_EMPTY_DOCUMENT");
    await rejects(extractDocument({ content: "<html><body><script>x()</script></body></html>" }), "RFX_EMPTY_DOCUMENT");
    await rejects(extractDocument({ content: "[]", filename: "e.json" }), "RFX_EMPTY_DOCUMENT");
  });

  it("refuses content over maxBytes before reading it", async () => {
    await rejects(extractDocument({ content: "x".repeat(2000) }, { maxBytes: 1024 }), "RFX_PAYLOAD_TOO_LARGE");
    await expect(extractDocument({ content: "x".repeat(1024) }, { maxBytes: 1024 })).resolves.toBeTruthy();
  });
});

describe("sanitizeTitle", () => {
  it("keeps only the last path component, without control characters", () => {
    expect(sanitizeTitle("../../etc/passwd")).toBe("passwd");
    expect(sanitizeTitle("C:\\Users\\me\\report.pdf")).toBe("report.pdf");
    expect(sanitizeTitle("a\u0000b\u202e.txt")).toBe("ab.txt");
    expect(sanitizeTitle("../..")).toBeUndefined();
    expect(sanitizeTitle("/")).toBeUndefined();
    expect(sanitizeTitle("x".repeat(500))).toHaveLength(200);
  });
});
