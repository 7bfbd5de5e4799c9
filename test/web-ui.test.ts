// The web UI in a real browser (Debian chromium via playwright-core) against the real server on the tiny model:
// chat (streaming, badges, markdown, conversations, regenerate, stop, RAG sources), models (details, a q8_0
// variant quantized from the UI, load, delete), live metrics, benchmarks (run, chart, compare, cancel), layout at
// 1280×800 and 390×844 (page height = viewport, drawer), keyboard-only use, axe-core, and no console error.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page, type Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSyntheticVocab, MODEL_SHAPES } from "../src/gguf/index.ts";
import { startLiveServer, TINY, type LiveServer } from "./deploy-live-server.ts";
import { checkBinaries } from "./deploy-require-binary.ts";
import { cleanupTempDirs, makeTempDir, writeTinyGguf } from "./registry-fixtures.ts";
import { startLoopbackRegistry, type LoopbackRegistry } from "./support/loopback-registry.ts";

const CHROMIUM = "/usr/bin/chromium";
const bins = checkBinaries([CHROMIUM]);
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** Where screenshots go (a temp dir, removed afterwards unless REFLEXIA_KEEP_SCREENSHOTS=1); printed at the end. */
const SHOTS = mkdtempSync(join(tmpdir(), "reflexia-web-ui-"));
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: bins.require(CHROMIUM), args: CHROMIUM_ARGS, headless: true });
}

/** Sends a message through the composer and waits until the answer finished streaming. */
async function chat(page: Page, text: string) {
  const before = await page.locator(".msg-assistant").count();
  await page.fill("#prompt", text);
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith("/v1/chat/completions") && r.method() === "POST"),
    page.press("#prompt", "Enter"),
  ]);
  const response = await request.response();
  const reply = page.locator(".msg-assistant").nth(before);
  await reply.waitFor();
  await page.waitForFunction((i) => {
    const n = document.querySelectorAll(".msg-assistant")[i];
    return n && !n.classList.contains("streaming");
  }, before);
  return { request, response, reply };
}

/** axe-core (the npm package, evaluated in the page: the CSP refuses injected script tags) → serious/critical ids. */
async function axeSerious(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            ctx: Document,
            o: object,
          ): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
}

/** The whole page is exactly the viewport: nothing scrolls as a whole. */
async function pageFits(page: Page) {
  return page.evaluate(() => ({
    scrollHeight: document.documentElement.scrollHeight,
    bodyHeight: document.body.scrollHeight,
    innerHeight,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth,
  }));
}

async function openView(page: Page, view: "chat" | "models" | "metrics" | "benchmarks") {
  await page.click(`.views-nav a[data-view="${view}"]`);
  await page.waitForSelector(`#view-${view}:not([hidden])`);
}

async function shot(page: Page, name: string) {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  expect(statSync(path).size).toBeGreaterThan(5_000);
}

describe.skipIf(bins.skip)("web UI in chromium", () => {
  let live: LiveServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Every console error and page error of every page in this context, for the whole run. */
  const consoleErrors: string[] = [];
  const watch = (p: Page) => {
    p.on("pageerror", (e) => consoleErrors.push(`pageerror: ${String(e)}`));
    p.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(`${p.url()}: ${m.text()}`);
    });
  };

  let registry: LoopbackRegistry;
  beforeAll(async () => {
    // A registry on loopback for the pull box (Ollama's protocol), serving one synthetic GGUF.
    const gguf = await writeTinyGguf(makeTempDir(), 13);
    registry = await startLoopbackRegistry([
      {
        repository: "library/webpulled",
        tag: "latest",
        layers: [{ mediaType: "application/vnd.ollama.image.model", bytes: gguf.bytes }],
      },
    ]);
    // q4_0 + f16: the q8_0 variant the models test creates is really quantized (from f16), not copied.
    live = await startLiveServer({ "registry.ollama_base_url": registry.url }, ["q4_0", "f16"]);
    browser = await launch();
    context = await browser.newContext({ viewport: DESKTOP });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: live.server.url });
    page = await context.newPage();
    watch(page);
    await page.goto(`${live.server.url}/`);
    await page.waitForSelector('html[data-ready="1"]');
  });

  afterAll(async () => {
    await browser?.close();
    await live?.stop();
    await registry?.close();
    await cleanupTempDirs();
    console.log(`web UI screenshots: ${SHOTS}`);
  });

  it("loads models, variants, roles, the status panel and the server's max-tokens limit", async () => {
    await page.waitForSelector(`#model option[value="${TINY}"]`, { state: "attached" });
    const variants = await page
      .locator("#variant option")
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(variants).toEqual(["", "q4_0", "f16"]);
    await page.waitForFunction(() => document.querySelectorAll("#role option").length > 5);
    await page.waitForSelector("#variants .variant-name");
    expect(await page.locator("#variants .variant-name").allTextContents()).toContain(`${TINY}:q4_0`);
    expect(await page.locator("#conn").getAttribute("data-state")).toBe("ok");
    expect(await page.locator("#status dt").allTextContents()).toEqual(
      expect.arrayContaining(["Running", "Queued", "Memory", "Cache"]),
    );
    // context 1024, one KV pool: a request may use all of it but one prompt token, and the field says so.
    const status = (await (await fetch(`${live.server.url}/api/status`)).json()) as {
      limits: { max_tokens: number };
      features: Record<string, boolean>;
    };
    expect(status.limits.max_tokens).toBe(1023);
    expect(await page.getAttribute("#max-tokens", "max")).toBe("1023");
    expect(await page.textContent("#max-tokens-hint")).toContain("1023");
    // The server has POST /api/pull, so the status advertises it (the models view then shows the pull box).
    expect(status.features.pull).toBe(true);
    // The chat route honours response_format and tools, so the JSON-mode toggle shows.
    expect(status.features).toMatchObject({ json_mode: true, tools: true });
    expect(await page.locator("#json-toggle-label").isVisible()).toBe(true);
  });

  it("streams a chat answer over SSE and shows which variant served it, why, and what it cost", async () => {
    await page.fill("#max-tokens", "24");
    const { request, response, reply } = await chat(page, "Explain in one sentence why the sky is blue.");
    const sent = JSON.parse(request.postData() ?? "{}");
    expect(sent).toMatchObject({ model: TINY, stream: true, stream_options: { include_usage: true }, max_tokens: 24 });
    expect(sent.rag).toBeUndefined();
    expect(sent.messages.at(-1)).toEqual({ role: "user", content: "Explain in one sentence why the sky is blue." });
    expect(response!.headers()["content-type"]).toMatch(/^text\/event-stream/);
    const quant = response!.headers()["x-reflexia-quantization"];
    expect(["q4_0", "f16"]).toContain(quant);

    const events = (await response!.text())
      .split("\n\n")
      .map((b) => b.replace(/^data: /, "").trim())
      .filter((d) => d && d !== "[DONE]");
    const parsed = events.map((d) => JSON.parse(d));
    const meta = parsed.find((e) => e.reflexia)?.reflexia;
    const usage = parsed.find((e) => e.usage)?.usage;
    expect(meta).toMatchObject({ variant: `${TINY}:${quant}`, quantization: quant });
    expect((await reply.locator(".msg-body").textContent())!.length).toBeGreaterThan(0);
    expect(await reply.getAttribute("class")).not.toMatch(/msg-error/);
    const chips = await reply.locator(".badge .chip").allTextContents();
    expect(chips).toContain(`${TINY}:${quant}`);
    expect(chips).toContain(quant);
    if (meta.complexity)
      expect(chips).toContain(`complexity ${meta.complexity.level} ${meta.complexity.score.toFixed(2)}`);
    expect(
      chips.some((c) => new RegExp(`^${usage.completion_tokens} tokens? · [\\d.]+ tok/s$`).test(c)),
      chips.join(" | "),
    ).toBe(true);
    expect(chips.some((c) => /^TTFT \d+ ms$/.test(c))).toBe(true);
    expect(await reply.locator(".reason code").textContent()).toBe(meta.reason);
    expect(response!.headers()["x-reflexia-reason"]).toBe(meta.reason);

    // The copy button puts the answer's text on the clipboard.
    await reply.locator('button[aria-label="Copy this answer"]').click();
    const stored = await page.evaluate(
      () => JSON.parse(localStorage.getItem("reflexia.conversations.v1")!)[0].messages[1].content as string,
    );
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(stored);
  });

  it("a pinned variant and an expert role travel with the request; regenerate resends the same turn", async () => {
    await page.selectOption("#variant", "f16");
    const roleId = await page.locator("#role option").nth(1).getAttribute("value");
    await page.selectOption("#role", roleId!);
    const { request, response, reply } = await chat(page, "And at sunset?");
    const sent = JSON.parse(request.postData() ?? "{}");
    expect(sent.model).toBe(`${TINY}:f16`);
    expect(sent.role).toBe(roleId);
    expect(sent.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(response!.headers()["x-reflexia-variant"]).toBe(`${TINY}:f16`);
    expect(await reply.locator(".chip-variant").textContent()).toBe(`${TINY}:f16`);
    expect(await reply.locator(".reason code").textContent()).toBe("pinned");
    const roleName = await page.locator(`#role option[value="${roleId}"]`).textContent();
    expect(await reply.locator(".badge .chip").allTextContents()).toContain(`role: ${roleName}`);

    // Only the newest answer offers Regenerate; it replaces that answer, sending the same history.
    expect(await page.locator('button[aria-label="Regenerate this answer"]').count()).toBe(1);
    const [again] = await Promise.all([
      page.waitForRequest((r) => r.url().endsWith("/v1/chat/completions")),
      page.click('button[aria-label="Regenerate this answer"]'),
    ]);
    expect(JSON.parse(again.postData() ?? "{}").messages).toEqual(sent.messages);
    await page.waitForFunction(
      () =>
        !document.querySelector(".msg-assistant.streaming") && document.querySelectorAll(".msg-assistant").length === 2,
    );
    await page.selectOption("#variant", "");
    await page.selectOption("#role", "");
    await shot(page, "desktop-chat");
  });

  it("stopping a reply keeps what came and says what it cost", async () => {
    await page.fill("#max-tokens", "512");
    await page.fill("#temperature", "0");
    // The reply must still be streaming when Stop lands, but the random tiny model may end it after a few tokens (the
    // history before this turn is sampled, so even a greedy reply here differs between runs; CI saw one end in a
    // single render). So this one request carries a logit_bias that bans the end-of-generation tokens (</s>,
    // <|im_end|>), added on its way out: the page and its Stop are unchanged, the reply just cannot end by itself.
    const vocab = buildSyntheticVocab(MODEL_SHAPES.tiny.nVocab);
    const endIds = ["</s>", "<|im_end|>"].map((t) => vocab.tokens.indexOf(t));
    expect(endIds.every((id) => id >= 0)).toBe(true);
    let routed = 0;
    const banEnd = async (route: Route) => {
      routed++;
      const body = JSON.parse(route.request().postData() ?? "{}") as Record<string, unknown>;
      body.logit_bias = Object.fromEntries(endIds.map((id) => [String(id), -100]));
      await route.continue({ postData: JSON.stringify(body) });
    };
    await page.route("**/v1/chat/completions", banEnd);
    // Stop from inside the page on the first streamed text: the random tiny model often ends a reply by itself within
    // a few hundred milliseconds, so a click sent from the test process could land after the reply ended. The
    // observer is installed before the message is sent.
    await page.evaluate(() => {
      const w = window as unknown as { stopOnFirstText: Promise<boolean> };
      const before = document.querySelectorAll(".msg-assistant").length;
      w.stopOnFirstText = new Promise<boolean>((resolve) => {
        const check = () => {
          const all = document.querySelectorAll(".msg-assistant");
          const mine = all.length > before ? all[all.length - 1] : null;
          if (!mine) return;
          if (!mine.classList.contains("streaming")) {
            // The whole reply arrived in one render: nothing was left to stop.
            obs.disconnect();
            resolve(false);
            return;
          }
          if ((mine.querySelector(".msg-body")?.textContent ?? "").length === 0) return;
          obs.disconnect();
          (document.getElementById("stop") as HTMLButtonElement).click();
          resolve(true);
        };
        const obs = new MutationObserver(check);
        obs.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      });
    });
    // A slow link (CDP network emulation) spreads the reply over seconds, so it is still streaming when stopped.
    let stopped = false;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: 2000,
      uploadThroughput: -1,
    });
    try {
      await page.fill("#prompt", "Tell me a long story.");
      await page.press("#prompt", "Enter");
      stopped = await page.evaluate(() => (window as unknown as { stopOnFirstText: Promise<boolean> }).stopOnFirstText);
    } finally {
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      await cdp.detach();
      await page.unroute("**/v1/chat/completions", banEnd);
    }
    const reply = page.locator(".msg-assistant").last();
    await page.waitForFunction(() => !document.querySelector(".msg-assistant.streaming"));
    expect(routed).toBe(1);
    expect(stopped, "the reply was still streaming when Stop was clicked").toBe(true);
    expect(await reply.getAttribute("class")).toMatch(/msg-stopped/);
    expect(await reply.locator(".stopped-note").count()).toBe(1);
    const chips = await reply.locator(".badge .chip").allTextContents();
    expect(chips.some((c) => /^≈\d+ tokens?/.test(c))).toBe(true);
    expect(chips.some((c) => /^TTFT \d+ ms$/.test(c))).toBe(true);
    await page.fill("#max-tokens", "24");
    await page.fill("#temperature", "0.7");
  });

  it("keeps conversations in the browser: reload, list, rename, delete", async () => {
    await page.reload();
    await page.waitForSelector('html[data-ready="1"]');
    expect(await page.locator(".msg-assistant").count()).toBe(3);
    expect(await page.locator(".msg-user").first().textContent()).toBe("Explain in one sentence why the sky is blue.");
    expect(await page.textContent("#chat-title")).toBe("Explain in one sentence why the sky is blue.");

    await page.click("#new-chat");
    expect(await page.locator(".msg").count()).toBe(0);
    await chat(page, "Second conversation");
    expect(await page.locator("#conversations li").count()).toBe(2);

    await page.click('#conversations button[aria-label="Rename Second conversation"]');
    await page.fill("#rename-input", "Renamed chat");
    await page.press("#rename-input", "Enter");
    await page.waitForFunction(() => document.getElementById("chat-title")?.textContent === "Renamed chat");

    await page.click('#conversations button[aria-label="Delete Renamed chat"]');
    await page.click("#dialog-ok");
    await page.waitForFunction(() => document.querySelectorAll("#conversations li").length === 1);
    // Back to the first conversation from the list.
    await page.click("#conversations .conv-open");
    expect(await page.locator(".msg-assistant").count()).toBe(3);
  });

  it("renders answers as sanitised markdown with highlighted code and copy buttons", async () => {
    // A stored answer goes through the same renderer as a streamed one; model output is untrusted.
    await page.evaluate(() => {
      const list = JSON.parse(localStorage.getItem("reflexia.conversations.v1")!);
      list[0].messages.push(
        { role: "user", content: "markdown please" },
        {
          role: "assistant",
          content:
            '# Title\n\nSome **bold** and `code`.\n\n```python\ndef f(x):\n    return x + 1\n```\n\n<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">\n\n[click](javascript:window.__pwned=3) ![remote](http://example.invalid/x.png)',
        },
      );
      localStorage.setItem("reflexia.conversations.v1", JSON.stringify(list));
    });
    await page.reload();
    await page.waitForSelector('html[data-ready="1"]');
    const body = page.locator(".msg-assistant").last().locator(".msg-body");
    expect(await body.locator("h1").textContent()).toBe("Title");
    expect(await body.locator("strong").textContent()).toBe("bold");
    expect(await body.locator(".code-block .code-lang").textContent()).toBe("python");
    expect(await body.locator("pre code .hljs-keyword").first().textContent()).toBe("def");
    // Raw HTML stays text, the javascript: link is not a link, no image is requested.
    expect(await body.locator("script, img").count()).toBe(0);
    expect(await body.locator('a[href^="javascript"]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await body.textContent()).toContain("<script>");
    await body.locator('.code-block button[aria-label="Copy python block"]').click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("def f(x):\n    return x + 1\n");
  });

  it("answers from an uploaded document with RAG on and lists the sources under the answer", async () => {
    await page.setInputFiles("#doc-file", {
      name: "lighthouse-notes.md",
      mimeType: "text/markdown",
      buffer: Buffer.from(
        "# Lighthouses\n\nThe lighthouse keeper trims the wick at dusk and logs the weather every four hours.\n",
      ),
    });
    await page.click("#upload-form button[type=submit]");
    await page.waitForFunction(() =>
      /Added lighthouse-notes\.md \(1 chunk\)/.test(document.getElementById("docs-msg")?.textContent ?? ""),
    );
    await page.locator("#docs li", { hasText: "lighthouse" }).waitFor();
    expect(await page.locator("#docs li", { hasText: "lighthouse" }).textContent()).toMatch(/1 chunk(?!s)/);

    // A fresh conversation: the sources and the question must fit a sequence's 512-token context.
    await page.click("#new-chat");
    await page.check("#rag-toggle");
    const { request, reply } = await chat(page, "When does the lighthouse keeper trim the wick?");
    expect(await reply.getAttribute("class")).not.toMatch(/msg-error/);
    expect(JSON.parse(request.postData() ?? "{}").rag).toBe(true);
    const source = reply.locator(".sources .source").first();
    await source.waitFor();
    expect(await source.locator(".source-title").textContent()).toMatch(/Lighthouses|lighthouse-notes/);
    expect(await source.locator("summary .hint").textContent()).toMatch(/^chunk 1 · score [\d.]+$/);
    expect(await source.locator(".source-text").isVisible()).toBe(false);
    await source.locator("summary").click();
    expect(await source.locator(".source-text").textContent()).toContain("trims the wick at dusk");
    expect(await reply.locator(".chip-rag").textContent()).toBe("documents: 1 source");
    await page.uncheck("#rag-toggle");
    await shot(page, "desktop-chat-rag");

    // Delete through the confirmation dialog.
    await page.locator("#docs li", { hasText: "lighthouse" }).locator("button").click();
    await page.click("#dialog-ok");
    await page.locator("#docs li", { hasText: "lighthouse" }).waitFor({ state: "detached" });
  });

  it("models view: variants with size, memory and state; details; a q8_0 variant quantized from the UI; load; delete", async () => {
    await openView(page, "models");
    expect(new URL(page.url()).pathname).toBe("/models");
    const row = (tag: string) => page.locator(`tr[data-variant="${TINY}:${tag}"]`);
    await row("q4_0").waitFor();
    expect(await row("q4_0").locator(".state").textContent()).toMatch(/^loaded/);
    // f16 served the pinned request above and stays loaded for keep_alive (300 s).
    expect(await row("f16").locator(".state").textContent()).toMatch(/^loaded · unloads in \d+ (s|min)$/);
    expect(await row("f16").locator("td.num").first().textContent()).toMatch(/MiB$/);

    await row("q4_0").locator("button", { hasText: "Details" }).click();
    await page.waitForSelector("#dialog[open]");
    expect(await page.textContent("#dialog-content")).toContain("llama");
    expect(await page.locator("#dialog-content pre.template").textContent()).toContain("<|im_start|>");
    expect(await axeSerious(page)).toEqual([]);
    await page.keyboard.press("Escape");
    await page.waitForFunction(() => !(document.getElementById("dialog") as HTMLDialogElement).open);

    await page.selectOption("#quantize-from", TINY);
    await page.selectOption("#quantize-to", "q8_0");
    await page.click("#quantize-submit");
    await page.waitForFunction(
      () => /^Created reflexia-tiny:q8_0/.test(document.getElementById("quantize-msg")?.textContent ?? ""),
      null,
      { timeout: 60_000 },
    );
    await row("q8_0").waitFor();
    expect(await row("q8_0").locator(".state").textContent()).toBe("not loaded");
    const listed = (await (await fetch(`${live.server.url}/api/tags`)).json()) as {
      models: { name: string; details: { quantization_level: string } }[];
    };
    expect(listed.models.find((m) => m.name === `${TINY}:q8_0`)?.details.quantization_level).toBe("Q8_0");

    await row("q8_0").locator("button", { hasText: "Load" }).click();
    await page.waitForFunction(
      (sel) => /^loaded/.test(document.querySelector(`${sel} .state`)?.textContent ?? ""),
      `tr[data-variant="${TINY}:q8_0"]`,
    );
    await shot(page, "desktop-models");

    await row("q8_0").locator("button", { hasText: "Delete" }).click();
    expect(await page.textContent("#dialog-content")).toContain(`${TINY}:q8_0`);
    await page.click("#dialog-ok");
    await row("q8_0").waitFor({ state: "detached" });
  });

  it("metrics view draws non-empty charts from the live endpoint after traffic", async () => {
    await openView(page, "metrics");
    const tokens = page.locator('figure[data-title="Tokens per second"]');
    await tokens.waitFor();
    // The chat above generated tokens within the last minutes: the series has points and a maximum above zero.
    await page.waitForFunction(
      () => Number(document.querySelector('figure[data-title="Requests by status"]')?.getAttribute("data-max")) > 0,
    );
    expect(Number(await tokens.getAttribute("data-points"))).toBeGreaterThan(0);
    for (const title of [
      "Tokens per second",
      "Time to first token",
      "Inter-token latency",
      "Requests by status",
      "Queue depth",
      "Memory",
      "Cache hit ratio",
    ]) {
      expect(await page.locator(`figure[data-title="${title}"] svg`).count(), title).toBe(1);
    }
    await page.waitForFunction(
      () => Number(document.querySelector('figure[data-title="Memory"]')?.getAttribute("data-max")) > 0,
    );
    await shot(page, "desktop-metrics");
  });

  it("benchmarks view: runs the inference benchmark on the tiny model, shows its chart, compares two runs, cancels one", async () => {
    await openView(page, "benchmarks");
    await page.waitForSelector('#bench-kind option[value="inference"]', { state: "attached" });
    await page.selectOption("#bench-kind", "inference");
    for (const box of await page.locator("#bench-variants input").all())
      await box.setChecked((await box.getAttribute("value")) === `${TINY}:q4_0`);
    await page.fill("#bench-tokens", "16");
    await page.fill("#bench-repetitions", "1");
    const runOnce = async () => {
      await page.click("#bench-run");
      await page.waitForFunction(
        () => /^Finished inference/.test(document.getElementById("bench-msg")?.textContent ?? ""),
        null,
        { timeout: 90_000 },
      );
    };
    await runOnce();
    const report = page.locator("#bench-report .report").first();
    await report.waitFor();
    expect(await report.locator("svg rect.bar").count()).toBeGreaterThan(0);
    expect(await report.locator("figcaption").first().textContent()).toBe("ms per generated token");
    expect(await report.locator("table tbody tr").first().textContent()).toContain(`${TINY}:q4_0`);

    // The stored run, with its JSON, as the API lists it.
    const listed = (await (await fetch(`${live.server.url}/api/benchmarks`)).json()) as {
      runs: { id: string; kind: string; models: { ref: string; digest: string }[]; result: { variants: unknown[] } }[];
    };
    expect(listed.runs[0]).toMatchObject({ kind: "inference", models: [{ ref: `${TINY}:q4_0` }] });
    expect(listed.runs[0].models[0].digest).toMatch(/^sha256:/);
    expect(listed.runs[0].result.variants).toHaveLength(1);

    await runOnce();
    await page.waitForFunction(() => document.querySelectorAll("#bench-runs tbody tr").length === 2);
    for (const box of await page.locator("#bench-runs tbody input[type=checkbox]").all()) await box.check();
    await page.click("#bench-compare");
    const table = page.locator("#bench-report table.table");
    await table.waitFor();
    expect(
      await table.locator("tbody tr", { hasText: "inference q4_0 decode (tok/s)" }).locator("td").last().textContent(),
    ).toMatch(/^[\d.]+×$/);
    expect(await page.locator("#bench-report .bench-compare .report").count()).toBe(2);
    expect(await page.textContent("#bench-report")).toContain("same machine");
    await shot(page, "desktop-benchmarks");

    // A long run is cancelled mid-way and nothing is stored.
    await page.fill("#bench-tokens", "4000");
    await page.fill("#bench-repetitions", "20");
    await page.click("#bench-run");
    await page.waitForSelector("#bench-cancel:not([hidden])");
    await page.click("#bench-cancel");
    await page.waitForFunction(
      () => /^Cancelled inference/.test(document.getElementById("bench-msg")?.textContent ?? ""),
      null,
      { timeout: 60_000 },
    );
    expect(((await (await fetch(`${live.server.url}/api/benchmarks`)).json()) as { total: number }).total).toBe(2);
  });

  it("desktop layout: every view fills the window exactly, the chat scrolls inside itself, axe finds nothing serious", async () => {
    for (const view of ["chat", "models", "metrics", "benchmarks"] as const) {
      await openView(page, view);
      const fit = await pageFits(page);
      expect(fit.scrollHeight, view).toBe(DESKTOP.height);
      expect(fit.bodyHeight, view).toBe(DESKTOP.height);
      expect(fit.scrollWidth, view).toBe(DESKTOP.width);
      expect(await axeSerious(page), view).toEqual([]);
    }
    await openView(page, "chat");
    // The first conversation (five answers and the markdown one) is taller than its region: the wheel scrolls the
    // region, never the page.
    await page.click('#conversations .conv-open:has-text("Explain in one sentence")');
    await page.mouse.move(700, 300);
    await page.mouse.wheel(0, -600);
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => document.scrollingElement!.scrollTop)).toBe(0);
    expect(
      await page.evaluate(
        () =>
          document.getElementById("chat-scroll")!.scrollHeight > document.getElementById("chat-scroll")!.clientHeight,
      ),
    ).toBe(true);
    const header = await page.locator(".topbar").boundingBox();
    const composer = await page.locator("#composer").boundingBox();
    expect(header!.y).toBe(0);
    expect(composer!.y + composer!.height).toBeCloseTo(DESKTOP.height, 0);
    await shot(page, "desktop-chat-final");
  });

  it("390 px wide: the side panel is a drawer, views fit, keyboard works, axe finds nothing serious", async () => {
    const phone = await context.newPage();
    watch(phone);
    await phone.setViewportSize(PHONE);
    await phone.goto(`${live.server.url}/`);
    await phone.waitForSelector('html[data-ready="1"]');
    const sidebar = phone.locator("#sidebar");
    expect(await sidebar.evaluate((n) => (n as HTMLElement).inert)).toBe(true);
    expect((await sidebar.boundingBox())!.x + (await sidebar.boundingBox())!.width).toBeLessThanOrEqual(0);
    for (const view of ["chat", "models", "metrics", "benchmarks"] as const) {
      await openView(phone, view);
      const fit = await pageFits(phone);
      expect(fit.scrollHeight, view).toBe(PHONE.height);
      expect(fit.scrollWidth, view).toBe(PHONE.width);
      expect(await axeSerious(phone), view).toEqual([]);
      await shot(phone, `phone-${view}`);
    }
    await openView(phone, "chat");

    // Keyboard only: the drawer opens from its button, takes focus, shows every panel in one scroll, closes on Escape.
    await phone.focus("#drawer-toggle");
    await phone.keyboard.press("Enter");
    await phone.waitForFunction(() => document.body.classList.contains("drawer-open"));
    expect(await phone.evaluate(() => document.activeElement?.id)).toBe("drawer-close");
    await phone.waitForFunction(() => document.getElementById("sidebar")!.getBoundingClientRect().left >= 0);
    const box = (await sidebar.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    expect(box.height).toBe(PHONE.height);
    // Nothing in the drawer is cut or scrolls on its own except the drawer itself.
    expect(
      await phone.evaluate(() =>
        [...document.querySelectorAll("#sidebar .panel")].every((p) => p.scrollHeight <= p.clientHeight + 1),
      ),
    ).toBe(true);
    expect(await axeSerious(phone)).toEqual([]);
    await shot(phone, "phone-drawer");
    await phone.keyboard.press("Escape");
    await phone.waitForFunction(() => !document.body.classList.contains("drawer-open"));
    expect(await phone.evaluate(() => document.activeElement?.id)).toBe("drawer-toggle");
    await phone.close();
  });

  it("works from the keyboard alone: skip link, view links, message box", async () => {
    const kb = await context.newPage();
    watch(kb);
    await kb.setViewportSize(DESKTOP);
    await kb.goto(`${live.server.url}/`);
    await kb.waitForSelector('html[data-ready="1"]');
    await kb.keyboard.press("Tab");
    expect(await kb.evaluate(() => document.activeElement?.className)).toBe("skip-link");
    // Tab forward to the Models link and follow it.
    let found = false;
    for (let i = 0; i < 12 && !found; i++) {
      await kb.keyboard.press("Tab");
      found = await kb.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.view === "models");
    }
    expect(found).toBe(true);
    await kb.keyboard.press("Enter");
    await kb.waitForSelector("#view-models:not([hidden])");
    expect(new URL(kb.url()).pathname).toBe("/models");
    // Back to chat by its link, then type and send with Enter.
    await kb.focus('.views-nav a[data-view="chat"]');
    await kb.keyboard.press("Enter");
    await kb.waitForSelector("#view-chat:not([hidden])");
    await kb.focus("#prompt");
    await kb.fill("#max-tokens", "8");
    await kb.focus("#prompt");
    await kb.keyboard.type("Hello from the keyboard");
    const [req] = await Promise.all([
      kb.waitForRequest((r) => r.url().endsWith("/v1/chat/completions")),
      kb.keyboard.press("Enter"),
    ]);
    expect(JSON.parse(req.postData() ?? "{}").messages.at(-1).content).toBe("Hello from the keyboard");
    await kb.waitForFunction(
      () => document.querySelector(".msg-assistant") && !document.querySelector(".msg-assistant.streaming"),
    );
    await kb.close();
  });

  it("serves the page at each view's path (reload and links land on the view)", async () => {
    for (const [path, view] of [
      ["/models", "models"],
      ["/metrics", "metrics"],
      ["/benchmarks", "benchmarks"],
      ["/benchmark", "benchmarks"],
    ] as const) {
      const res = await fetch(`${live.server.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      await page.goto(`${live.server.url}${path}`);
      await page.waitForSelector(`#view-${view}:not([hidden])`);
    }
    expect((await fetch(`${live.server.url}/nope`)).status).toBe(404);
  });

  it("models view: pulls a model by name from the registry, with progress, and lists it", async () => {
    await openView(page, "models");
    expect(await page.locator("#pull-panel").isVisible()).toBe(true);
    await page.fill("#pull-name", "webpulled");
    await page.click('#pull-form button[type="submit"]');
    await page.waitForFunction(() => document.querySelector("#pull-msg")?.textContent === "Pulled webpulled.");
    await page.locator('tr[data-variant="webpulled:latest"]').waitFor();
    expect(registry.requests[0]).toBe("GET /v2/library/webpulled/manifests/latest");
  });

  it("JSON mode asks for a JSON object and the answer parses as one", async () => {
    await page.goto(live.server.url);
    await page.waitForSelector("#view-chat:not([hidden])");
    await page.click("#new-chat");
    await page.fill("#max-tokens", "120");
    await page.check("#json-toggle");
    try {
      const { request, reply } = await chat(page, "Give me a JSON object.");
      expect(JSON.parse(request.postData() ?? "{}")).toMatchObject({ response_format: { type: "json_object" } });
      const text = (await reply.locator(".msg-body pre code").textContent()) ?? "";
      expect(typeof JSON.parse(text)).toBe("object");
    } finally {
      await page.uncheck("#json-toggle");
    }
  });

  it("ran without a single console error", () => {
    expect(consoleErrors).toEqual([]);
  });
});

describe.skipIf(bins.skip)("web UI error display", () => {
  let live: LiveServer;
  let browser: Browser;

  beforeAll(async () => {
    live = await startLiveServer();
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await live?.stop();
  });

  it("shows a server error in the conversation instead of failing silently", async () => {
    // Its own page: chromium logs the deliberate 404 response as a failed resource.
    const page = await browser.newPage();
    await page.goto(`${live.server.url}/`);
    await page.waitForSelector(`#model option[value="${TINY}"]`, { state: "attached" });
    await page.evaluate(() => {
      const sel = document.getElementById("model") as HTMLSelectElement;
      sel.append(new Option("no-such-model", "no-such-model"));
      sel.value = "no-such-model";
      (document.getElementById("variant") as HTMLSelectElement).value = "";
    });
    const { response, reply } = await chat(page, "Hello?");
    expect(response!.status()).toBe(404);
    expect(await reply.getAttribute("class")).toMatch(/msg-error/);
    expect(await reply.locator(".msg-body").textContent()).toMatch(/RFX_MODEL_NOT_FOUND/);
    await page.close();
  });
});

describe.skipIf(bins.skip)("web UI with API keys enabled", () => {
  const KEY = "test-key-0123456789abcdef";
  let live: LiveServer;
  let browser: Browser;

  beforeAll(async () => {
    live = await startLiveServer({ "auth.enabled": true, "auth.api_key": KEY });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await live?.stop();
  });

  it("asks for the key, stores it in localStorage, and sends it as a Bearer token", async () => {
    const page = await browser.newPage();
    await page.goto(`${live.server.url}/`);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "warn");
    expect(await page.locator("#conn").textContent()).toMatch(/API key needed/);

    await page.fill("#api-key", KEY);
    await page.click("#key-form button[type=submit]");
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ok");
    expect(await page.evaluate(() => localStorage.getItem("reflexia.apiKey"))).toBe(KEY);
    await page.waitForSelector(`#model option[value="${TINY}"]`, { state: "attached" });

    await page.fill("#max-tokens", "8");
    const { request, response, reply } = await chat(page, "Hi");
    expect(request.headers()["authorization"]).toBe(`Bearer ${KEY}`);
    expect(response!.status()).toBe(200);
    expect(await reply.locator(".chip-variant").count()).toBe(1);

    await page.reload();
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ok");
    expect(await page.inputValue("#api-key")).toBe(KEY);
    await page.close();
  });
});

describe("prerequisites", () => {
  it("chromium is installed (required in CI)", (ctx) => {
    if (bins.skip) ctx.skip(bins.note);
    expect(bins.missing).toEqual([]);
  });
});

afterAll(() => {
  // Keep screenshots only when asked (REFLEXIA_KEEP_SCREENSHOTS=1), so CI leaves no temp files behind.
  if (process.env.REFLEXIA_KEEP_SCREENSHOTS !== "1") rmSync(SHOTS, { recursive: true, force: true });
});
