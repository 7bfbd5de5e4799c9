// SIGTERM on the real server process: the in-flight stream finishes, new requests are refused, the process
// exits 0 after unloading.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTinyHome, parseNdjson, TINY, type TinyHome } from "./support/server-fixture.ts";

let home: TinyHome;
beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
});
afterAll(async () => {
  await home?.cleanup();
});

describe("graceful shutdown", () => {
  it("drains the in-flight stream on SIGTERM, then exits 0", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REFLEXIA_HOME: home.home,
        DEFAULT_MODEL: TINY,
        HOST: "127.0.0.1",
        PORT: "0",
        METRICS_PORT: "0",
        LOG_LEVEL: "warn",
        PARALLEL: "2",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(stderr);
          if (m) resolve(m[1]);
        });
        child.once("exit", () => reject(new Error(`server exited early: ${stderr}`)));
      });
      // Wait for the warm-up so the request below is decoding when the signal arrives.
      for (let i = 0; i < 600 && (await fetch(`${url}/readyz`)).status !== 200; i++)
        await new Promise((r) => setTimeout(r, 50));

      const res = await fetch(`${url}/api/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: TINY,
          prompt: "a long story",
          options: { num_predict: 300, temperature: 0.8, seed: 1 },
        }),
      });
      const reader = res.body!.getReader();
      let body = new TextDecoder().decode((await reader.read()).value);
      child.kill("SIGTERM");
      // Once the signal is handled, new requests are refused (listener closed) or answered 503.
      let late: number | string = 200;
      for (let i = 0; i < 500 && late === 200; i++) {
        late = await fetch(`${url}/api/version`, { headers: { connection: "close" } }).then(
          (r) => r.status,
          () => "refused",
        );
        if (late === 200) await new Promise((r) => setTimeout(r, 10));
      }
      expect([503, "refused"]).toContain(late);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        body += new TextDecoder().decode(value);
      }
      const lines = parseNdjson(body);
      expect(lines.at(-1)).toMatchObject({ done: true });
      expect(lines.at(-1)!.eval_count).toBeGreaterThan(0);
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
