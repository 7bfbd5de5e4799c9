// The web UI in a real browser (Debian chromium via playwright-core) against the real server on the tiny model:
// streamed chat with the variant badge, pinned variants, roles, the status panel, and the API-key flow.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLiveServer, TINY, type LiveServer } from "./deploy-live-server.ts";
import { checkBinaries } from "./deploy-require-binary.ts";

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

/** Where screenshots go; printed so a person can look at them. */
const SHOTS = mkdtempSync(join(tmpdir(), "reflexia-web-ui-"));

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

describe.skipIf(bins.skip)("web UI in chromium", () => {
  let live: LiveServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    live = await startLiveServer();
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
    await page.goto(`${live.server.url}/`);
    await page.waitForSelector('html[data-ready="1"]');
  });

  afterAll(async () => {
    await browser?.close();
    await live?.stop();
    console.log(`web UI screenshots: ${SHOTS}`);
  });

  it("loads models, variants, roles and the status panel", async () => {
    await page.waitForSelector(`#model option[value="${TINY}"]`, { state: "attached" });
    const variants = await page.locator("#variant option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(variants).toEqual(["", "q4_0", "q8_0"]);
    await page.waitForFunction(() => document.querySelectorAll("#role option").length > 5);
    await page.waitForSelector("#variants .variant-name");
    // The server warmed the default variant before it became ready, so the status panel lists it.
    expect(await page.locator("#variants .variant-name").allTextContents()).toContain(`${TINY}:q4_0`);
    expect(await page.locator("#conn").getAttribute("data-state")).toBe("ok");
    expect(await page.locator("#status dt").allTextContents()).toEqual(expect.arrayContaining(["Running", "Queued", "Memory", "Cache"]));
  });

  it("streams a chat answer over SSE and shows which variant served it and why", async () => {
    await page.fill("#max-tokens", "24");
    const { request, response, reply } = await chat(page, "Explain in one sentence why the sky is blue.");
    const sent = JSON.parse(request.postData() ?? "{}");
    expect(sent).toMatchObject({ model: TINY, stream: true, stream_options: { include_usage: true }, max_tokens: 24 });
    expect(sent.messages.at(-1)).toEqual({ role: "user", content: "Explain in one sentence why the sky is blue." });
    expect(response!.headers()["content-type"]).toMatch(/^text\/event-stream/);
    const quant = response!.headers()["x-reflexia-quantization"];
    expect(["q4_0", "q8_0"]).toContain(quant);

    await page.screenshot({ path: join(SHOTS, "chat.png"), fullPage: false });

    // What the server said about this answer (the final chunk's `reflexia` field) is what the badge shows.
    const events = (await response!.text()).split("\n\n").map((b) => b.replace(/^data: /, "").trim()).filter((d) => d && d !== "[DONE]");
    const meta = events.map((d) => JSON.parse(d)).find((e) => e.reflexia)?.reflexia;
    expect(meta).toMatchObject({ variant: `${TINY}:${quant}`, quantization: quant });
    const shown = (await reply.locator(".msg-body").textContent()) ?? "";
    expect(shown.length).toBeGreaterThan(0);
    expect(await reply.getAttribute("class")).not.toMatch(/msg-error/);
    const chips = await reply.locator(".badge .chip").allTextContents();
    expect(chips).toContain(`${TINY}:${quant}`);
    expect(chips).toContain(quant);
    if (meta.complexity) expect(chips).toContain(`complexity ${meta.complexity.level} ${meta.complexity.score.toFixed(2)}`);
    else expect(chips.some((c) => c.startsWith("complexity"))).toBe(false);
    expect(chips.some((c) => /^\d+ tokens/.test(c))).toBe(true);
    expect(await reply.locator(".reason code").textContent()).toBe(meta.reason);
    expect(response!.headers()["x-reflexia-reason"]).toBe(meta.reason);
    expect(statSync(join(SHOTS, "chat.png")).size).toBeGreaterThan(10_000);
  });

  it("a pinned variant and an expert role travel with the request and come back in the badge", async () => {
    await page.selectOption("#variant", "q8_0");
    const roleId = await page.locator("#role option").nth(1).getAttribute("value");
    await page.selectOption("#role", roleId!);
    const { request, response, reply } = await chat(page, "And at sunset?");
    const sent = JSON.parse(request.postData() ?? "{}");
    expect(sent.model).toBe(`${TINY}:q8_0`);
    expect(sent.role).toBe(roleId);
    // The conversation so far is sent back: user, assistant, user.
    expect(sent.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(response!.headers()["x-reflexia-variant"]).toBe(`${TINY}:q8_0`);
    expect(await reply.locator(".chip-variant").textContent()).toBe(`${TINY}:q8_0`);
    expect(await reply.locator(".reason code").textContent()).toBe("pinned");
    const roleName = await page.locator(`#role option[value="${roleId}"]`).textContent();
    expect(await reply.locator(".badge .chip").allTextContents()).toContain(`role: ${roleName}`);
    await page.screenshot({ path: join(SHOTS, "conversation.png") });
  });

  it("shows a server error in the conversation instead of failing silently", async () => {
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
    await page.selectOption("#model", TINY);
  });

  it("uploads, lists and deletes a document through the documents panel", async (ctx) => {
    // The RAG routes arrive through startServer's `rag` seam; until they are wired the panel says so.
    const probe = await fetch(`${live.server.url}/api/documents`);
    if (probe.status === 404) {
      expect(await page.locator("#docs-msg").textContent()).toMatch(/not available/);
      ctx.skip("the server exposes no /api/documents yet (RAG routes not wired into startServer)");
    }
    await page.setInputFiles("#doc-file", { name: "lighthouse-notes.md", mimeType: "text/markdown", buffer: Buffer.from("# Lighthouses\n\nThe lighthouse keeper trims the wick at dusk and logs the weather every four hours.\n") });
    await page.click("#upload-form button[type=submit]");
    await page.waitForFunction(() => /Added lighthouse-notes\.md/.test(document.getElementById("docs-msg")?.textContent ?? ""));
    const item = page.locator("#docs li", { hasText: "lighthouse" });
    await item.waitFor();
    expect(await item.textContent()).toMatch(/\d+ chunks/);
    page.once("dialog", (d) => void d.accept());
    await item.locator("button").click();
    await page.waitForFunction(() => /Deleted/.test(document.getElementById("docs-msg")?.textContent ?? ""));
    await page.locator("#docs li", { hasText: "lighthouse" }).waitFor({ state: "detached" });
  });

  it("ran without page errors", () => {
    // A 404 on purpose above is logged by chromium as a failed resource; nothing else may be.
    expect(pageErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
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

    // A reload keeps the key.
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
