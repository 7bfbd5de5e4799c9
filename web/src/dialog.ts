// One modal <dialog> for confirmations and detail views: focus moves in, Escape closes, focus returns.
import { $ } from "./dom.ts";

export interface DialogOptions {
  title: string;
  content: Node | string;
  /** Label of the confirming button; omit for an information dialog with only "Close". */
  confirm?: string;
  danger?: boolean;
  wide?: boolean;
}

/** Shows the dialog; resolves true when confirmed, false when cancelled or closed. */
export function openDialog(options: DialogOptions): Promise<boolean> {
  const dialog = $<HTMLDialogElement>("dialog");
  const ok = $<HTMLButtonElement>("dialog-ok");
  const cancel = $<HTMLButtonElement>("dialog-cancel");
  $("dialog-title").textContent = options.title;
  const content = $("dialog-content");
  content.replaceChildren(
    typeof options.content === "string" ? document.createTextNode(options.content) : options.content,
  );
  ok.hidden = !options.confirm;
  ok.textContent = options.confirm ?? "OK";
  ok.className = `btn ${options.danger ? "btn-danger" : "btn-primary"}`;
  cancel.textContent = options.confirm ? "Cancel" : "Close";
  dialog.classList.toggle("dialog-wide", Boolean(options.wide));
  const opener = document.activeElement as HTMLElement | null;
  dialog.returnValue = "";
  dialog.showModal();
  (options.confirm ? cancel : cancel).focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        opener?.focus?.();
        resolve(dialog.returnValue === "ok");
      },
      { once: true },
    );
  });
}
