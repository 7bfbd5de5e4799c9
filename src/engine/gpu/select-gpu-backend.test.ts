import { describe, expect, it } from "vitest";
import type { BackendModule, GpuBackend } from "./library-sets.ts";
import { isSoftwareDevice, selectGpuBackend, type GpuAddon, type RawDevice } from "./select-gpu-backend.ts";

const GiB = 2 ** 30;
const cpuDevice: RawDevice = {
  index: 0,
  name: "CPU",
  description: "AMD EPYC",
  backend: "CPU",
  type: "cpu",
  deviceId: null,
  freeBytes: 64 * GiB,
  totalBytes: 64 * GiB,
};

/**
 * A fake addon: each module path either fails with a dlopen message or registers the given devices, appended to
 * the registry as ggml does. Records every load, so a test can see that nothing was loaded twice or at all.
 */
function fakeAddon(
  modules: Record<string, { error: string } | { name: string; devices: Omit<RawDevice, "index" | "backend">[] }>,
) {
  const registry: RawDevice[] = [cpuDevice];
  const loads: string[] = [];
  const addon: GpuAddon = {
    loadBackend(path) {
      loads.push(path);
      const m = modules[path];
      if (!m) return { error: `${path}: cannot open shared object file: No such file or directory` };
      if ("error" in m) return { error: m.error };
      for (const d of m.devices) registry.push({ ...d, index: registry.length, backend: m.name });
      return { name: m.name, devices: m.devices.length };
    },
    devices: () => registry.map((d) => ({ ...d })),
  };
  return { addon, loads };
}

const mods =
  (table: Partial<Record<GpuBackend, string[]>>) =>
  (b: GpuBackend): BackendModule[] =>
    (table[b] ?? []).map((path) => ({ backend: b, path, package: `@node-llama-cpp/linux-x64-${b}` }));
const both = mods({ cuda: ["/cuda13/libggml-cuda.so", "/cuda12/libggml-cuda.so"], vulkan: ["/vk/libggml-vulkan.so"] });
const gpu = (description: string, totalGiB = 24, type = "gpu") => ({
  name: "",
  description,
  type,
  deviceId: "0000:01:00.0",
  freeBytes: (totalGiB - 1) * GiB,
  totalBytes: totalGiB * GiB,
});
const LLVMPIPE = "llvmpipe (LLVM 15.0.6, 256 bits)";

describe("selectGpuBackend", () => {
  it("GPU=off loads nothing and runs on the CPU", () => {
    const { addon, loads } = fakeAddon({});
    const s = selectGpuBackend(addon, "off", both, () => true);
    expect(s).toMatchObject({ backend: "cpu", devices: [], reason: "GPU=off: every layer runs on the CPU" });
    expect(loads).toEqual([]);
  });

  it("auto picks CUDA when a driver and a CUDA device are present, and never loads Vulkan then", () => {
    const { addon, loads } = fakeAddon({
      "/cuda13/libggml-cuda.so": { name: "CUDA", devices: [{ ...gpu("NVIDIA H100 80GB HBM3", 80), name: "CUDA0" }] },
    });
    const s = selectGpuBackend(addon, "auto", both, () => true);
    expect(s.backend).toBe("cuda");
    expect(s.devices.map((d) => [d.index, d.name, d.software])).toEqual([[1, "CUDA0", false]]);
    expect(s.reason).toMatch(/^GPU=auto: CUDA on CUDA0 "NVIDIA H100 80GB HBM3" \(79\.0 GiB free of 80\.0 GiB\)$/);
    expect(loads).toEqual(["/cuda13/libggml-cuda.so"]);
  });

  it("auto falls back to the CUDA 12 module when the CUDA 13 one cannot load", () => {
    const { addon, loads } = fakeAddon({
      "/cuda13/libggml-cuda.so": {
        error: "libcudart.so.13: cannot open shared object file: No such file or directory",
      },
      "/cuda12/libggml-cuda.so": { name: "CUDA", devices: [{ ...gpu("NVIDIA RTX 4090"), name: "CUDA0" }] },
    });
    const s = selectGpuBackend(addon, "auto", both, () => true);
    expect(s.backend).toBe("cuda");
    expect(s.attempts[0]!.module).toBe("/cuda12/libggml-cuda.so");
    expect(loads).toEqual(["/cuda13/libggml-cuda.so", "/cuda12/libggml-cuda.so"]);
  });

  it("auto without an NVIDIA driver skips CUDA and takes a real Vulkan GPU, saying why not CUDA", () => {
    const { addon, loads } = fakeAddon({
      "/vk/libggml-vulkan.so": { name: "Vulkan", devices: [{ ...gpu("AMD Radeon RX 7900 XTX"), name: "Vulkan0" }] },
    });
    const s = selectGpuBackend(addon, "auto", both, () => false);
    expect(s.backend).toBe("vulkan");
    expect(s.reason).toMatch(/^GPU=auto: Vulkan on Vulkan0 "AMD Radeon RX 7900 XTX" .* \(CUDA: no NVIDIA driver/);
    expect(loads).toEqual(["/vk/libggml-vulkan.so"]);
  });

  it("auto never picks a software Vulkan device (llvmpipe): CPU, with the reason naming it", () => {
    const { addon } = fakeAddon({
      "/vk/libggml-vulkan.so": { name: "Vulkan", devices: [{ ...gpu(LLVMPIPE, 2), name: "Vulkan0" }] },
    });
    const s = selectGpuBackend(addon, "auto", both, () => false);
    expect(s.backend).toBe("cpu");
    expect(s.devices).toEqual([]);
    expect(s.reason).toBe(
      `GPU=auto found no GPU, so the CPU runs every layer (CUDA: no NVIDIA driver (no /proc/driver/nvidia/version, /dev/nvidiactl or /dev/dxg); Vulkan: only "${LLVMPIPE}", a software renderer on the CPU, which auto never picks (GPU=vulkan forces it))`,
    );
    expect(s.attempts.map((a) => [a.backend, a.loaded])).toEqual([
      ["cuda", false],
      ["vulkan", true],
    ]);
  });

  it("auto with a real GPU next to llvmpipe takes only the real one", () => {
    const { addon } = fakeAddon({
      "/vk/libggml-vulkan.so": {
        name: "Vulkan",
        devices: [
          { ...gpu(LLVMPIPE, 2), name: "Vulkan0" },
          { ...gpu("Intel(R) Arc(tm) A770 Graphics (DG2)", 16), name: "Vulkan1" },
        ],
      },
    });
    const s = selectGpuBackend(addon, "auto", both, () => false);
    expect(s.backend).toBe("vulkan");
    expect(s.devices.map((d) => d.name)).toEqual(["Vulkan1"]);
  });

  it("GPU=vulkan takes a software device when ggml lists it (the CI path test) and says it is one", () => {
    const { addon } = fakeAddon({
      "/vk/libggml-vulkan.so": { name: "Vulkan", devices: [{ ...gpu(LLVMPIPE, 2), name: "Vulkan0" }] },
    });
    const s = selectGpuBackend(addon, "vulkan", both, () => false);
    expect(s.backend).toBe("vulkan");
    expect(s.devices[0]!.software).toBe(true);
    expect(s.reason).toMatch(/Vulkan0 is a software renderer on the CPU: this proves the path, not the speed$/);
  });

  it("GPU=vulkan falls back to the CPU with one reason when the loader is missing or no device is listed", () => {
    const noLoader = fakeAddon({
      "/vk/libggml-vulkan.so": { error: "libvulkan.so.1: cannot open shared object file: No such file or directory" },
    });
    expect(selectGpuBackend(noLoader.addon, "vulkan", both, () => false).reason).toBe(
      "GPU=vulkan, but no Vulkan loader (libvulkan.so.1 not found; install libvulkan1 and the GPU's Vulkan driver); running on the CPU",
    );
    const none = fakeAddon({ "/vk/libggml-vulkan.so": { name: "Vulkan", devices: [] } });
    const s = selectGpuBackend(none.addon, "vulkan", both, () => false);
    expect(s.backend).toBe("cpu");
    expect(s.reason).toMatch(
      /^GPU=vulkan, but the Vulkan backend found no GPU .*GGML_VK_VISIBLE_DEVICES.*; running on the CPU$/,
    );
  });

  it("GPU=cuda names the missing runtime libraries and the missing driver", () => {
    const { addon } = fakeAddon({
      "/cuda13/libggml-cuda.so": {
        error: "libcublas.so.13: cannot open shared object file: No such file or directory",
      },
      "/cuda12/libggml-cuda.so": {
        error: "libcudart.so.12: cannot open shared object file: No such file or directory",
      },
    });
    const s = selectGpuBackend(addon, "cuda", both, () => false);
    expect(s.backend).toBe("cpu");
    expect(s.reason).toBe(
      "GPU=cuda, but no NVIDIA driver is present and the CUDA runtime is not installed (libcublas.so.13, libcudart.so.12 not found, the first library each build lacks; node-llama-cpp's builds need the CUDA 13 or 12 runtime); running on the CPU",
    );
    expect(s.attempts[0]!.error).toBe(s.reason.slice("GPU=cuda, but ".length, -"; running on the CPU".length));
  });

  it("says which package is missing when a set is not installed", () => {
    const { addon } = fakeAddon({});
    const s = selectGpuBackend(addon, "vulkan", mods({}), () => false);
    expect(s.reason).toMatch(/no prebuilt Vulkan library set is installed \(@node-llama-cpp\/.*-vulkan\)/);
  });

  it("recognises software renderers by name only", () => {
    expect(
      ["llvmpipe (LLVM 15.0.6, 256 bits)", "lavapipe", "SwiftShader Device (Subzero)", "softpipe"].every(
        isSoftwareDevice,
      ),
    ).toBe(true);
    expect(
      ["NVIDIA GeForce RTX 3090", "AMD Radeon Pro W7900", "Intel(R) UHD Graphics 770", "Apple M2"].some(
        isSoftwareDevice,
      ),
    ).toBe(false);
  });
});
