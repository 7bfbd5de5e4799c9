import { describe, expect, it } from "vitest";
import { ReflexiaError } from "../errors/index.ts";
import { applyRole, createRoleCatalog, ROLE_CATEGORIES } from "./roles.ts";

describe("role catalogue", () => {
  it("has at least 12 built-in roles covering every category, each complete", () => {
    const roles = createRoleCatalog().list();
    expect(roles.length).toBeGreaterThanOrEqual(12);
    for (const c of ROLE_CATEGORIES) expect(roles.filter((r) => r.category === c).length).toBeGreaterThanOrEqual(2);
    const ids = roles.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of roles) {
      expect(r.id).toMatch(/^[a-z0-9][a-z0-9._-]*$/);
      expect(r.name.length).toBeGreaterThan(0);
      expect(r.description.length).toBeGreaterThan(0);
      expect(r.systemPrompt.length).toBeGreaterThan(40);
      expect(r.builtin).toBe(true);
    }
    expect(ids).toEqual(expect.arrayContaining(["software-engineer", "data-scientist", "historian", "tutor-math"]));
  });

  it("gets a role by id, case-insensitively", () => {
    const catalog = createRoleCatalog();
    expect(catalog.get("software-engineer").name).toBe("Software Engineer");
    expect(catalog.get(" Physicist ").id).toBe("physicist");
  });

  it("rejects an unknown role with RFX_VALIDATION listing the available ids", () => {
    const catalog = createRoleCatalog();
    let err: unknown;
    try {
      catalog.get("astronaut");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReflexiaError);
    expect((err as ReflexiaError).code).toBe("RFX_VALIDATION");
    expect((err as ReflexiaError).message).toMatch(
      /unknown role 'astronaut'; available: .*software-engineer.*historian/,
    );
    expect(catalog.find("astronaut")).toBeUndefined();
  });

  it("merges custom roles from config, which may replace a built-in", () => {
    const catalog = createRoleCatalog([
      { id: "sql-expert", name: "SQL Expert", category: "technology", system_prompt: "You write efficient SQL." },
      { id: "pirate", name: "Pirate", category: "custom", system_prompt: "Talk like a pirate." },
      { id: "Historian", name: "Local Historian", system_prompt: "You know the town's history." },
    ]);
    expect(catalog.get("sql-expert")).toMatchObject({
      category: "technology",
      systemPrompt: "You write efficient SQL.",
      builtin: false,
    });
    expect(catalog.get("pirate").category).toBe("custom");
    expect(catalog.get("historian")).toMatchObject({ name: "Local Historian", category: "custom", builtin: false });
    const builtinCount = createRoleCatalog().list().length;
    expect(catalog.list()).toHaveLength(builtinCount + 2);
    expect(catalog.categories()).toEqual([...ROLE_CATEGORIES, "custom"]);
  });

  it("rejects invalid custom roles with RFX_CONFIG_INVALID naming the entry", () => {
    expect(() => createRoleCatalog([{ id: "bad id!", name: "x", system_prompt: "y" }])).toThrow(
      /roles\.custom\[0\]\.id/,
    );
    expect(() => createRoleCatalog([{ id: "ok", name: "x", system_prompt: "  " }])).toThrow(
      /roles\.custom\[0\]\.system_prompt/,
    );
    expect(() =>
      createRoleCatalog([
        { id: "a", name: "A", system_prompt: "p" },
        { id: "A", name: "A2", system_prompt: "q" },
      ]),
    ).toThrow(/roles\.custom\[1\]\.id 'a' is defined twice/);
    try {
      createRoleCatalog([{ id: "", name: "x", system_prompt: "y" }]);
    } catch (e) {
      expect((e as ReflexiaError).code).toBe("RFX_CONFIG_INVALID");
    }
  });
});

describe("applyRole", () => {
  const role = createRoleCatalog().get("teacher");

  it("prepends the role's system prompt without mutating the input", () => {
    const messages = [{ role: "user" as const, content: "What is photosynthesis?" }];
    const out = applyRole(messages, role);
    expect(out).toEqual([
      { role: "system", content: role.systemPrompt },
      { role: "user", content: "What is photosynthesis?" },
    ]);
    expect(messages).toHaveLength(1);
  });

  it("folds an existing system message into one, role prompt first", () => {
    const out = applyRole(
      [
        { role: "system", content: "Answer in French." },
        { role: "user", content: "Hi" },
      ],
      role,
    );
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({ role: "system", content: `${role.systemPrompt}\n\nAnswer in French.` });
  });

  it("returns the messages unchanged without a role", () => {
    expect(applyRole([{ role: "user", content: "x" }], undefined)).toEqual([{ role: "user", content: "x" }]);
  });
});
