// Streaming stop-string matcher: decides which generated text is safe to emit before a stop string could complete.

export interface StopMatcher {
  /** Adds generated text; returns the part that can be emitted now (never any part of a stop string). */
  push(text: string): string;
  /** Ends the stream; returns held-back text that turned out not to start a stop string. */
  flush(): string;
  /** True once a stop string has been seen; later pushes return "". */
  readonly stopped: boolean;
}

/**
 * Creates a matcher over `stops` (empty strings ignored). Text that might be the start of a stop string is held
 * back until it either completes one (then it and everything after are dropped) or diverges (then it is released),
 * so a stop string never reaches a stream consumer even when it spans several tokens.
 */
export function createStopMatcher(stops: readonly string[] = []): StopMatcher {
  const targets = [...new Set(stops.filter((s) => s.length > 0))];
  let held = "";
  let stopped = false;

  function heldPrefixLength(text: string): number {
    // Longest suffix of text that is a proper prefix of some stop string: it may still grow into one.
    let best = 0;
    for (const stop of targets) {
      const max = Math.min(stop.length - 1, text.length);
      for (let len = max; len > best; len--) {
        if (text.endsWith(stop.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }

  return {
    get stopped() {
      return stopped;
    },
    push(text: string): string {
      if (stopped || text.length === 0) return "";
      if (targets.length === 0) return text;
      const buffer = held + text;
      let cut = -1;
      for (const stop of targets) {
        const at = buffer.indexOf(stop);
        if (at !== -1 && (cut === -1 || at < cut)) cut = at;
      }
      if (cut !== -1) {
        stopped = true;
        held = "";
        return buffer.slice(0, cut);
      }
      const keep = heldPrefixLength(buffer);
      held = buffer.slice(buffer.length - keep);
      return buffer.slice(0, buffer.length - keep);
    },
    flush(): string {
      if (stopped) return "";
      const out = held;
      held = "";
      return out;
    },
  };
}
