// Reads the text layer of a PDF through unpdf (pdf.js); pages become paragraphs separated by blank lines.
import { ReflexiaError } from "../../errors/index.ts";

export interface PdfText {
  text: string;
  title?: string;
  pages: number;
}

export async function pdfToText(bytes: Uint8Array): Promise<PdfText> {
  const { getDocumentProxy, extractText, getMeta } = await import("unpdf");
  let pdf;
  try {
    // pdf.js takes ownership of (detaches) the buffer it is given, so it gets a copy.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { isEvalSupported: false, stopAtErrors: false, verbosity: 0 });
  } catch (e) {
    throw new ReflexiaError("RFX_UNSUPPORTED_MEDIA", `the PDF could not be read: ${(e as Error).message}`);
  }
  try {
    const { totalPages, text } = await extractText(pdf, { mergePages: false });
    let title: string | undefined;
    try {
      const meta = await getMeta(pdf);
      const t = (meta.info as Record<string, unknown> | undefined)?.Title;
      if (typeof t === "string" && t.trim() !== "") title = t.trim();
    } catch {
      // Metadata is optional; the text layer is what matters.
    }
    const pages = (text as string[]).map((p) => p.replace(/[ \t]+\n/g, "\n").trim()).filter((p) => p !== "");
    return { text: pages.join("\n\n"), title, pages: totalPages };
  } catch (e) {
    throw new ReflexiaError("RFX_UNSUPPORTED_MEDIA", `the PDF text layer could not be read: ${(e as Error).message}`);
  } finally {
    await pdf.destroy().catch(() => undefined);
  }
}
