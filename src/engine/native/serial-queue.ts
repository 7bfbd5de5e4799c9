// Runs calls one after another on a native context with a single sequence (the embedder, the evaluator).

export interface SerialQueue {
  /** Runs `fn` after every call queued before it, whether those succeeded or failed. */
  run<T>(fn: () => T | Promise<T>): Promise<T>;
  /** Settles when every queued call has ended. */
  idle(): Promise<void>;
}

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(fn: () => T | Promise<T>): Promise<T> {
      const p = tail.then(fn, fn);
      tail = p.catch(() => undefined);
      return p;
    },
    async idle() {
      await tail;
    },
  };
}
