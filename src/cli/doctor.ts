// `reflexia doctor`: CPU features and the ggml CPU variant, the prebuilt library sets, GPU drivers and devices, and
// the backend GPU=… chooses on this machine with its reason.
import type { Command } from "commander";
import { collectSystemInfo } from "../bench/system-info.ts";
import { diagnoseGpu } from "../engine/gpu/diagnose-gpu.ts";
import type { CliContextFactory } from "./context.ts";
import { formatBytes, printJson, table } from "./output.ts";

export function registerDoctorCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("doctor")
    .description(
      "print CPU features and the ggml CPU variant, GPU drivers, devices and VRAM, and the compute backend GPU=… picks (and why)",
    )
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const ctx = await getContext({ needsStore: false });
      const config = ctx.loaded.config;
      const gpu = diagnoseGpu(config.gpu.backend);
      // After the addon loaded: ggml's CPU variant library is mapped into this process now.
      const system = collectSystemInfo();
      if (opts.json)
        return printJson({
          system,
          gpu,
          config: { gpu: config.gpu, max_vram_percent: config.memory.max_vram_percent, engine: config.engine.backend },
        });
      const out: string[] = [];
      const kv = (rows: [string, string][]) => rows.map(([k, v]) => `  ${k.padEnd(18)} ${v}`).join("\n");
      const indent = (text: string) => text.replace(/^/gm, "  ");
      out.push(
        "CPU",
        kv([
          ["model", system.cpuModel],
          ["SIMD", system.cpuFlags.join(" ") || "none of the flags ggml selects by"],
          [
            "ggml CPU variant",
            `${system.ggmlCpuVariant ?? "unknown"} (ggml's best match among the prebuilt libggml-cpu-*.so; backend "${gpu.cpuBackend}")`,
          ],
          ["cores", `${system.availableCpus} available of ${system.logicalCpus}`],
          [
            "memory",
            `${formatBytes(system.totalMemoryBytes)}${system.memoryLimitBytes ? `, cgroup limit ${formatBytes(system.memoryLimitBytes)}` : ""}`,
          ],
        ]),
        "",
      );
      out.push("Library sets (node-llama-cpp's prebuilt llama.cpp; one addon, the GPU module loaded at run time)");
      out.push(
        indent(
          table(
            gpu.librarySets.map((s) => ({
              set: s.backend,
              package: s.package,
              installed: s.installed ? "yes" : "no",
              module: s.modules[0] ?? (s.backend === "cpu" ? "(linked)" : ""),
            })),
          ),
        ),
        "",
      );
      const d = gpu.drivers;
      out.push(
        "Drivers",
        kv([
          ["NVIDIA driver", d.nvidiaDriver.version ?? (d.nvidiaDriver.present ? "present" : "none")],
          ...d.libraries.map((l): [string, string] => [l.soname, l.path ?? "not found"]),
          [
            "Vulkan drivers",
            d.vulkanIcds.length
              ? d.vulkanIcds.map((i) => i.library.replace(/^.*\/libvulkan_([^/]+)\.so$/, "$1")).join(", ")
              : "none",
          ],
        ]),
        "",
      );
      const devices = gpu.backends.flatMap((a) =>
        a.devices.map((dev) => ({
          backend: a.backend,
          device: dev.name,
          description: dev.description,
          type: dev.type,
          "vram free": formatBytes(dev.freeBytes),
          "vram total": formatBytes(dev.totalBytes),
          note: dev.software ? "software (a CPU): auto skips it" : "",
        })),
      );
      out.push("GPU devices");
      out.push(devices.length ? indent(table(devices)) : "  none");
      for (const a of gpu.backends) if (a.devices.length === 0) out.push(`  ${a.backend}: ${a.error ?? "no device"}`);
      out.push("");
      const c = gpu.chosen;
      out.push(`Backend: GPU=${c.requested} → ${c.backend}`, `  ${c.reason}`);
      out.push(
        `  GPU_LAYERS=${config.gpu.layers}, MAX_VRAM_PERCENT=${config.memory.max_vram_percent}${config.engine.backend === "node-llama-cpp" ? " (ENGINE=node-llama-cpp runs on the CPU: GPU offload needs the native engine)" : ""}`,
      );
      process.stdout.write(out.join("\n") + "\n");
    });
}
