// GPU=auto on a machine without a real GPU (every CI run): the server starts on the CPU and says why — in its log,
// in /api/status and through the metrics — and places no layer on a GPU. GGML_VK_VISIBLE_DEVICES is left unset, as
// on a user's machine: ggml-vulkan then lists only real GPUs.
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../src/main.ts";
import { isCI } from "./deploy-require-binary.ts";
import { createTinyHome, liveServerConfig, TINY, type TinyHome } from "./support/server-fixture.ts";

delete process.env.GGML_VK_VISIBLE_DEVICES;

let home: TinyHome;
let server: RunningServer;
const logLines: string[] = [];

beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
  const loaded = liveServerConfig(home.home, { "gpu.backend": "auto", "log.level": "info" });
  const stream = new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  server = await startServer({
    loaded,
    store: home.store,
    logger: { level: "info", stream },
    webDir: null,
    rag: false,
  });
  await server.ready;
});

afterAll(async () => {
  await server?.close();
  await home?.cleanup();
});

describe("GPU=auto without a real GPU", () => {
  it("runs on the CPU and says why in the log and /api/status", async () => {
    const status = (await (await fetch(`${server.url}/api/status`)).json()) as {
      gpu: {
        requested: string;
        backend: string;
        reason: string;
        devices: unknown[];
        layers: string;
        budget_bytes: number | null;
      };
      loaded: { variant: string; gpu_layers: number; size_vram: number }[];
    };
    expect(status.gpu.requested).toBe("auto");
    if (isCI()) expect(status.gpu.backend).toBe("cpu");
    if (status.gpu.backend !== "cpu") return; // a machine with a real GPU: nothing more to check here
    expect(status.gpu.reason).toMatch(/^GPU=auto found no GPU, so the CPU runs every layer \(CUDA: .+; Vulkan: .+\)$/);
    expect(status.gpu.devices).toEqual([]);
    expect(status.gpu.budget_bytes).toBeNull();
    const v = status.loaded.find((x) => x.variant === `${TINY}:q4_0`)!;
    expect(v.gpu_layers).toBe(0);
    expect(v.size_vram).toBe(0);

    const line = logLines
      .map((l) => JSON.parse(l) as { msg: string; level: number; gpu?: { backend: string } })
      .find((l) => l.msg.startsWith("GPU backend:"));
    expect(line?.msg).toBe(`GPU backend: cpu — ${status.gpu.reason}`);
    expect(line?.gpu?.backend).toBe("cpu");
    expect(line?.level).toBe(30); // info: auto settling on the CPU is not a failure

    const ps = (await (await fetch(`${server.url}/api/ps`)).json()) as { models: { size_vram: number }[] };
    expect(ps.models.every((m) => m.size_vram === 0)).toBe(true);
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^reflexia_gpu_layers\\{model="${TINY}",quantization="q4_0"\\} 0$`, "m"));
    expect(metrics).not.toMatch(/^reflexia_gpu_memory_usage_bytes\{/m);
  });
});
