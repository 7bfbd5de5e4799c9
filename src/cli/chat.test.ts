// `reflexia chat` flags as commander parses them: what reaches startChat.
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerChatCommand, type ChatCliOptions } from "./chat.ts";
import type { CliContextFactory } from "./context.ts";

/** The options `reflexia chat …args` passes on; the command stops where it would open the home. */
async function chatOptions(args: string[]): Promise<ChatCliOptions> {
  const program = new Command("reflexia").exitOverride();
  const getContext = (() => Promise.reject(new Error("reached"))) as unknown as CliContextFactory;
  registerChatCommand(program, getContext);
  program.commands[0].exitOverride();
  await expect(program.parseAsync(["chat", ...args], { from: "user" })).rejects.toThrow("reached");
  return program.commands[0].opts<ChatCliOptions>();
}

describe("reflexia chat flags", () => {
  it("leaves num_predict to the model's parameters unless --max-tokens is given", async () => {
    // A default here would be sent as num_predict every turn, over the Modelfile's PARAMETER num_predict.
    expect((await chatOptions(["-m", "m"])).maxTokens).toBeUndefined();
    expect((await chatOptions(["-m", "m", "-n", "5"])).maxTokens).toBe(5);
    expect((await chatOptions(["-m", "m"])).temperature).toBeUndefined();
  });
});
