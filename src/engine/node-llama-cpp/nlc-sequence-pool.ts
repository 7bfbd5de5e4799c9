// Fixed pool of context sequences with a FIFO wait queue for callers when every sequence is busy.

export interface SequencePool<T> {
  /** Resolves with a free item, or null if `signal` aborts (or the pool closes) while waiting. */
  acquire(signal?: AbortSignal): Promise<T | null>;
  /** Returns an item; the longest waiter gets it first. */
  release(item: T): void;
  /** Items currently handed out. */
  busy(): number;
  /** Callers waiting for an item. */
  waiting(): number;
  /** Wakes every waiter with null and refuses later acquires. */
  close(): void;
}

interface Waiter<T> {
  resolve: (item: T | null) => void;
  cleanup: () => void;
}

export function createSequencePool<T>(items: readonly T[]): SequencePool<T> {
  const free = [...items];
  const waiters: Waiter<T>[] = [];
  let closed = false;

  return {
    acquire(signal?: AbortSignal): Promise<T | null> {
      if (closed || signal?.aborted) return Promise.resolve(null);
      const item = free.shift();
      if (item !== undefined) return Promise.resolve(item);
      return new Promise<T | null>((resolve) => {
        const onAbort = () => {
          const i = waiters.indexOf(waiter);
          if (i !== -1) waiters.splice(i, 1);
          resolve(null);
        };
        const waiter: Waiter<T> = {
          resolve,
          cleanup: () => signal?.removeEventListener("abort", onAbort),
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        waiters.push(waiter);
      });
    },
    release(item: T): void {
      const next = waiters.shift();
      if (next && !closed) {
        next.cleanup();
        next.resolve(item);
      } else {
        free.push(item);
      }
    },
    busy(): number {
      return items.length - free.length;
    },
    waiting(): number {
      return waiters.length;
    },
    close(): void {
      closed = true;
      for (const w of waiters.splice(0)) {
        w.cleanup();
        w.resolve(null);
      }
    },
  };
}
