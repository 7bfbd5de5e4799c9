// What the views share: the last /api/status (limits, features, loaded variants) and who wants to hear of it.
import type { StatusBody } from "../../src/client/index.ts";

type Listener = (status: StatusBody) => void;

let current: StatusBody | null = null;
const listeners = new Set<Listener>();

export function serverStatus(): StatusBody | null {
  return current;
}

export function setServerStatus(status: StatusBody): void {
  current = status;
  for (const l of listeners) l(status);
}

/** Calls `listener` on every new status (and at once when one is known). */
export function onServerStatus(listener: Listener): void {
  listeners.add(listener);
  if (current) listener(current);
}
