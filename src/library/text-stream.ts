// Turns one generation that reports its text through a callback into an async iterable of text pieces plus a
// promise of the final result: what the library's chat() returns.

/** Text pieces as they are generated (`for await`), and the whole outcome once generation ends. */
export interface TextStream<R> extends AsyncIterable<string> {
  /**
   * Resolves with the final outcome (full text, finish reason, token counts, timings, the variant and why) once
   * generation ends; rejects with the ReflexiaError that stopped it. Iterating the stream rethrows the same error.
   */
  readonly result: Promise<R>;
}

/**
 * Starts `run` at once; its `onText` pieces are buffered until the caller iterates, so nothing is lost when
 * iteration starts late. Only one iteration is meaningful: the pieces are handed out once.
 */
export function createTextStream<R>(run: (onText: (text: string) => void) => Promise<R>): TextStream<R> {
  const pieces: string[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const result = run((text) => {
    pieces.push(text);
    notify();
  }).then(
    (r) => {
      done = true;
      notify();
      return r;
    },
    (e: unknown) => {
      done = true;
      failure = { error: e };
      notify();
      throw e;
    },
  );
  // A caller that only iterates still sees the error there; the promise itself must not count as unhandled.
  result.catch(() => {});
  return {
    result,
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (pieces.length > 0) {
          yield pieces.shift()!;
          continue;
        }
        if (done) {
          if (failure) throw failure.error;
          return;
        }
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
}
