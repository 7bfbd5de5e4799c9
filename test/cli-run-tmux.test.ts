// `reflexia run MODEL` in a real terminal, driven through tmux as a person types: """ multi-line input, /set
// parameter, /show info, /set system """ over two lines, Ctrl-C at the prompt, /stats, /bye (the process exits).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkBinaries } from "./deploy-require-binary.ts";
import { createTinyHome, TINY, waitFor, type TinyHome } from "./support/server-fixture.ts";

const BIN = join(import.meta.dirname, "..", "bin", "reflexia.js");
const bins = checkBinaries(["tmux"]);
const SOCKET = `rfx-run-${process.pid}`;
const SESSION = "run";
let home: TinyHome;

const tmux = (...args: string[]): string =>
  execFileSync(bins.require("tmux"), ["-L", SOCKET, ...args], { encoding: "utf8" });
const screen = (): string => tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", SESSION);
const alive = (): boolean => {
  try {
    tmux("has-session", "-t", SESSION);
    return true;
  } catch {
    return false;
  }
};
const count = (s: string, needle: string): number => s.split(needle).length - 1;
/** Types a line (literally) and Enter. */
const type = (text: string): void => {
  tmux("send-keys", "-t", SESSION, "-l", text);
  tmux("send-keys", "-t", SESSION, "Enter");
};

beforeAll(async () => {
  if (bins.skip) return;
  home = await createTinyHome(["q4_0"]);
});
afterAll(async () => {
  if (!bins.skip && alive()) tmux("kill-server");
  await home?.cleanup();
});

describe.skipIf(bins.skip)("reflexia run in a terminal (tmux)", () => {
  it('takes """ multi-line input, /set parameter temperature 0, Ctrl-C at the prompt and during a reply, and leaves on /bye', async () => {
    // A closed port as REFLEXIA_HOST: embedded, whatever else runs on this machine.
    const cmd = `REFLEXIA_HOME=${home.home} REFLEXIA_HOST=http://127.0.0.1:9 ${process.execPath} ${BIN} run ${TINY}:q4_0`;
    tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "50", cmd);
    await waitFor(() => screen().includes(">>> "), "the first prompt", 60_000);
    expect(screen()).toContain("running embedded");

    type("/set parameter temperature 0");
    await waitFor(() => screen().includes("Set parameter 'temperature' to '0'"), "temperature set");
    type("/set parameter num_predict 3");
    await waitFor(() => screen().includes("Set parameter 'num_predict' to '3'"), "num_predict set");
    type("/set parameter mirostat 1");
    await waitFor(() => screen().includes('unknown parameter "mirostat"'), "unknown parameter refused");

    const before = count(screen(), ">>> ");
    type('"""first line');
    await waitFor(() => screen().includes("... "), "the continuation prompt");
    type('second line"""');
    await waitFor(() => count(screen(), ">>> ") > before, "the reply to the multi-line message", 60_000);

    type("/stats");
    // One turn: the two lines were one message; 3 tokens at most from num_predict.
    await waitFor(() => /turns 1 · prompt tokens \d+ · generated [0-3] /.test(screen()), "stats of one turn");
    expect(screen()).toContain("history 2 messages");

    type("/show info");
    await waitFor(() => screen().includes("architecture"), "/show info");

    // /set system """ gathers a multi-line system message, as a prompt's """ does.
    const continuations = count(screen(), "... ");
    type('/set system """Speak');
    await waitFor(() => count(screen(), "... ") > continuations, "the continuation prompt of /set system");
    type('like a pirate."""');
    await waitFor(() => screen().includes("Set system message."), "the multi-line system message set");
    type("/show system");
    await waitFor(() => screen().includes("/show system\nSpeak\nlike a pirate."), "the system message shown");

    tmux("send-keys", "-t", SESSION, "C-c");
    await waitFor(() => screen().includes("Use Ctrl + d or /bye to exit."), "the Ctrl-C hint");
    expect(alive()).toBe(true);

    // Ctrl-C during a reply cancels the reply, not the session: a long answer is cut and the prompt comes back.
    type("/set parameter num_predict 3500");
    await waitFor(() => screen().includes("Set parameter 'num_predict' to '3500'"), "num_predict raised");
    const prompts = count(screen(), ">>> ");
    type("tell me a very long story");
    await waitFor(() => /tell me a very long story\n.+/.test(screen()), "the reply to start streaming", 60_000);
    tmux("send-keys", "-t", SESSION, "C-c");
    await waitFor(() => screen().includes("[cancelled]"), "the reply to be cancelled", 60_000);
    await waitFor(() => count(screen(), ">>> ") > prompts, "the prompt after the cancelled reply");
    expect(alive()).toBe(true);

    type("/bye");
    await waitFor(() => !alive(), "the process to exit on /bye", 20_000);
  }, 120_000);
});
