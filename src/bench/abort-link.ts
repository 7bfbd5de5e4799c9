// Per-request abort signals under one long-lived stop signal, and a pause that stops with it: every listener put on
// the stop signal is taken off again, so a run of any length leaves none behind (fetch adds its own listeners to
// the signal it is given, and only drops them at garbage collection; given a per-request child, those go with it).

export interface AbortLink {
  /** Aborted when the parent aborts (with its reason). */
  readonly signal: AbortSignal;
  /** Detaches from the parent; call when the request is over. */
  release(): void;
}

export function linkAbort(parent: AbortSignal): AbortLink {
  const ac = new AbortController();
  if (parent.aborted) {
    ac.abort(parent.reason);
    return { signal: ac.signal, release: () => {} };
  }
  const onAbort = (): void => ac.abort(parent.reason);
  parent.addEventListener("abort", onAbort, { once: true });
  return { signal: ac.signal, release: () => parent.removeEventListener("abort", onAbort) };
}

/** Waits `ms`, or less when `signal` aborts first; either way no listener stays on `signal`. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
