// Memory bandwidth of a ggml device (the CPU or a GPU), measured with a ggml copy graph on that device.
import { ReflexiaError } from "../../errors/index.ts";
import { loadNativeAddon } from "../native/native-addon.ts";

export interface DeviceBandwidthOptions {
  /** Bytes of the tensor copied per pass (2x that moves). Defaults to 256 MiB: far beyond any cache. */
  bytes?: number;
  /** Timed passes after one warm-up. Defaults to 3. */
  passes?: number;
  /** Threads of a CPU device. Defaults to 1. */
  threads?: number;
}

export interface DeviceBandwidth {
  /** Best pass, bytes moved (read + written) per second: STREAM's convention, the least disturbed pass. */
  bytesPerSecond: number;
  medianBytesPerSecond: number;
  passes: number[];
  bytes: number;
}

/** Copies `bytes` on device `index` (ggml's global index; the CPU's from devices()) and reports the rate. */
export async function measureDeviceBandwidth(
  index: number,
  options: DeviceBandwidthOptions = {},
): Promise<DeviceBandwidth> {
  const { addon } = loadNativeAddon();
  let r: { bytes: number; passSeconds: number[] };
  try {
    r = await addon.deviceBandwidth(index, {
      bytes: options.bytes ?? 256 * 2 ** 20,
      passes: options.passes ?? 3,
      threads: options.threads ?? 1,
    });
  } catch (e) {
    throw new ReflexiaError(
      "RFX_ENGINE",
      `bandwidth of device ${index}: ${e instanceof Error ? e.message : String(e)}`,
      undefined,
      { cause: e },
    );
  }
  const rates = r.passSeconds.map((s) => (2 * r.bytes) / s);
  const sorted = [...rates].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return {
    bytesPerSecond: sorted.at(-1)!,
    medianBytesPerSecond: sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2,
    passes: rates,
    bytes: r.bytes,
  };
}
