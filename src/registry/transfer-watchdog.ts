// Aborts a transfer that stalls or trickles: every window it checks that enough bytes arrived, so a server that
// sends nothing, or one byte now and then, cannot hold a pull open forever.
import { CONFIG_DEFAULTS } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";

export interface TransferWatchdogOptions {
  /** Window length in seconds. Defaults to 30 (config `registry.pull_read_timeout_seconds`). */
  readTimeoutSeconds?: number;
  /** Average rate each window must reach, bytes/s; 0 only catches a full stall. Defaults to 1024 (`registry.pull_min_bytes_per_second`). */
  minBytesPerSecond?: number;
  /** The caller's own cancellation, passed through. */
  signal?: AbortSignal;
  /** Names the transfer in the error. */
  what: string;
}

export interface TransferWatchdog {
  /** Aborted by the caller's signal or by the watchdog (then `tripped` holds the RFX_DOWNLOAD_FAILED to throw). */
  readonly signal: AbortSignal;
  readonly tripped: ReflexiaError | undefined;
  /** Counts bytes received. */
  progress(bytes: number): void;
  stop(): void;
}

export function startTransferWatchdog(options: TransferWatchdogOptions): TransferWatchdog {
  const seconds = options.readTimeoutSeconds ?? CONFIG_DEFAULTS.registry.pull_read_timeout_seconds;
  const minRate = options.minBytesPerSecond ?? CONFIG_DEFAULTS.registry.pull_min_bytes_per_second;
  // At least one byte per window, so a rate of 0 still fails a stall.
  const needed = Math.max(1, Math.ceil(minRate * seconds));
  const ac = new AbortController();
  let tripped: ReflexiaError | undefined;
  let inWindow = 0;
  const onCallerAbort = (): void => ac.abort(options.signal?.reason);
  if (options.signal?.aborted) onCallerAbort();
  else options.signal?.addEventListener("abort", onCallerAbort, { once: true });
  const timer = setInterval(() => {
    if (inWindow < needed) {
      const got = inWindow === 0 ? "no data" : `${inWindow} bytes`;
      tripped = new ReflexiaError(
        "RFX_DOWNLOAD_FAILED",
        `${options.what} stalled: ${got} in ${seconds} s (less than ${minRate} bytes/s; PULL_READ_TIMEOUT, PULL_MIN_SPEED); pull again to resume`,
        { receivedInWindow: inWindow, windowSeconds: seconds },
      );
      stop();
      ac.abort(tripped);
    }
    inWindow = 0;
  }, seconds * 1000);
  timer.unref();
  function stop(): void {
    clearInterval(timer);
    options.signal?.removeEventListener("abort", onCallerAbort);
  }
  return {
    signal: ac.signal,
    get tripped() {
      return tripped;
    },
    progress(bytes) {
      inWindow += bytes;
    },
    stop,
  };
}
