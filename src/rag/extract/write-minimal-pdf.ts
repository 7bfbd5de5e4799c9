// Writes a small valid PDF with a real text layer (Helvetica, one text line per entry), for tests and fixtures.

function escapePdfString(s: string): string {
  return s.replace(/[\\()]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, "?");
}

/** Each element of `pages` is one page; its lines (split on "\n") are drawn top to bottom. */
export function writeMinimalPdf(pages: string[], options: { title?: string } = {}): Buffer {
  const objects: string[] = [];
  const pageCount = pages.length;
  // Object numbers: 1 catalog, 2 pages, 3 font, 4 info, then (page, content) pairs.
  const pageObj = (i: number) => 5 + i * 2;
  const contentObj = (i: number) => 6 + i * 2;
  objects[1] = "<< /Type /Catalog /Pages 2 0 R >>";
  objects[2] = `<< /Type /Pages /Kids [${pages.map((_, i) => `${pageObj(i)} 0 R`).join(" ")}] /Count ${pageCount} >>`;
  objects[3] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";
  objects[4] = `<< /Producer (reflexia test) ${options.title ? `/Title (${escapePdfString(options.title)})` : ""} >>`;
  pages.forEach((page, i) => {
    const lines = page.split("\n");
    const ops = ["BT", "/F1 12 Tf", "14 TL", "50 780 Td"];
    for (const line of lines) ops.push(`(${escapePdfString(line)}) Tj T*`);
    ops.push("ET");
    const stream = ops.join("\n");
    objects[pageObj(i)] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Resources << /Font << /F1 3 0 R >> >> /Contents ${contentObj(i)} 0 R >>`;
    objects[contentObj(i)] = `<< /Length ${Buffer.byteLength(stream, "latin1")} >>\nstream\n${stream}\nendstream`;
  });
  let out = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
  const offsets: number[] = [];
  for (let n = 1; n < objects.length; n++) {
    offsets[n] = Buffer.byteLength(out, "latin1");
    out += `${n} 0 obj\n${objects[n]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out, "latin1");
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let n = 1; n < objects.length; n++) out += `${String(offsets[n]).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R /Info 4 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}
