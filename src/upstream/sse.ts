// Server-sent events from a response body: yields the `data:` payload of each event as it completes.

/** The data of each event (multi-line data joined by \n); comments and other fields are skipped. */
export async function* readSseData(body: AsyncIterable<string | Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const value of body) {
    buf += typeof value === "string" ? value : decoder.decode(value, { stream: true });
    for (;;) {
      // Events end with a blank line; servers use \n or \r\n.
      const m = /\r?\n\r?\n/.exec(buf);
      if (!m) break;
      const block = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
      }
      if (data.length) yield data.join("\n");
    }
  }
}
