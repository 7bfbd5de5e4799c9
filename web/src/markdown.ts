// Renders model output (untrusted) as markdown: markdown-it with raw HTML off and images off (a remote image
// would be a request the CSP refuses), highlight.js for code, and DOMPurify over the result before it is
// inserted; code blocks get a language label and a copy button.
import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import css from "highlight.js/lib/languages/css";
import diff from "highlight.js/lib/languages/diff";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import markdownLang from "highlight.js/lib/languages/markdown";
import plaintext from "highlight.js/lib/languages/plaintext";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import shell from "highlight.js/lib/languages/shell";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";
import MarkdownIt from "markdown-it";
import { el } from "./dom.ts";

const LANGUAGES = {
  bash,
  c,
  cpp,
  css,
  diff,
  go,
  java,
  javascript,
  json,
  markdown: markdownLang,
  plaintext,
  python,
  rust,
  shell,
  sql,
  typescript,
  xml,
  yaml,
};
for (const [name, lang] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, lang);

const md = new MarkdownIt({
  html: false,
  linkify: false,
  breaks: true,
  highlight(code, lang) {
    const language = lang && hljs.getLanguage(lang) ? lang : "";
    if (!language) return "";
    try {
      return hljs.highlight(code, { language, ignoreIllegals: true }).value;
    } catch {
      return "";
    }
  },
});
md.disable(["image"]);

// Links in answers open elsewhere and tell the target nothing about this page.
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

/** The sanitised HTML of a markdown text (exported for the unit test). */
export function markdownToSafeHtml(text: string): string {
  return DOMPurify.sanitize(md.render(text), {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "img"],
    FORBID_ATTR: ["style"],
  });
}

/** Copies text to the clipboard; falls back to a hidden textarea where the Clipboard API is unavailable. */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      /* denied: try the fallback */
    }
  }
  const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

/** A button that copies `text()` and says so for a moment. */
export function copyButton(
  label: string,
  text: () => string,
  className = "btn btn-quiet btn-small",
): HTMLButtonElement {
  const button = el("button", { type: "button", class: className, text: "Copy", "aria-label": label });
  button.addEventListener("click", async () => {
    await copyText(text());
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = "Copy"), 1500);
  });
  return button;
}

/** Renders markdown into `target` (replacing its content) and decorates each code block. */
export function renderMarkdown(target: HTMLElement, text: string): void {
  target.innerHTML = markdownToSafeHtml(text);
  for (const pre of target.querySelectorAll("pre")) {
    const code = pre.querySelector("code");
    const lang = /language-([\w-]+)/.exec(code?.className ?? "")?.[1] ?? "";
    if (code && lang && hljs.getLanguage(lang)) code.classList.add("hljs");
    const bar = el(
      "div",
      { class: "code-bar" },
      el("span", { class: "code-lang", text: lang || "text" }),
      copyButton(`Copy ${lang || "code"} block`, () => code?.textContent ?? pre.textContent ?? ""),
    );
    const wrap = el("div", { class: "code-block" });
    pre.replaceWith(wrap);
    wrap.append(bar, pre);
    // A scrollable region must be reachable by keyboard.
    pre.tabIndex = 0;
  }
}
