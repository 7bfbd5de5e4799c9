// This machine's memory bandwidth as the decode bound needs it: the CPU's and (when the engine runs layers on one)
// the GPU's, each one ggml copy measurement. `models fit` and the inference benchmark share it.
import type { Engine } from "../engine/types.ts";

export interface MeasuredBandwidth {
  cpuBytesPerSecond?: number;
  gpuBytesPerSecond?: number;
}

/** Measures on the native engine's devices; other engines have no device handle here and get none. */
export async function measureEngineBandwidth(engine: Engine, threads?: number): Promise<MeasuredBandwidth> {
  const bandwidth: MeasuredBandwidth = {};
  if (engine.name !== "native") return bandwidth;
  const [{ measureDeviceBandwidth }, { loadNativeAddon }] = await Promise.all([
    import("../engine/gpu/device-bandwidth.ts"),
    import("../engine/native/native-addon.ts"),
  ]);
  const cpu = loadNativeAddon()
    .addon.devices()
    .find((d) => d.type === "cpu");
  if (cpu)
    bandwidth.cpuBytesPerSecond = (
      await measureDeviceBandwidth(cpu.index, { threads: threads ?? engine.defaultThreads })
    ).bytesPerSecond;
  const dev = engine.gpu?.devices[0];
  // A software Vulkan device copies at ~0.1 GB/s: a small buffer keeps the measurement to a second or two.
  if (dev)
    bandwidth.gpuBytesPerSecond = (
      await measureDeviceBandwidth(
        dev.index,
        dev.software ? { bytes: 16 * 2 ** 20, passes: 1 } : { bytes: 1024 * 2 ** 20 },
      )
    ).bytesPerSecond;
  return bandwidth;
}
