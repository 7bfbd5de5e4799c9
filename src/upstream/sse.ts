// Server-sent events from a response body: the `data:` payload of each event as it completes.

/**
 * Splits text chunks into the data of each complete event (multi-line data joined by \n; comments and other
 * fields skipped). Synchronous, so a relay handles each event in the callback its bytes arrived in.
 */
export class SseParser {
  private buf = "";

  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    for (;;) {
      // Events end with a blank line; servers use \n or \r\n.
      const m = /\r?\n\r?\n/.exec(this.buf);
      if (!m) return out;
      const block = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
      }
      if (data.length) out.push(data.join("\n"));
    }
  }
}
