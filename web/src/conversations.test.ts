// The browser conversation store over an in-memory Web Storage: ordering, titles, rename, delete, quota.
import { describe, expect, it } from "vitest";
import { createConversationStore, MAX_CONVERSATIONS, titleFrom, type KeyValueStorage } from "./conversations.ts";

function memoryStorage(limitChars = Infinity): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem(k, v) {
      if (v.length > limitChars) throw new DOMException("quota", "QuotaExceededError");
      data.set(k, v);
    },
    removeItem: (k) => void data.delete(k),
  };
}

describe("createConversationStore", () => {
  it("keeps conversations newest first with a title from the first question", async () => {
    let n = 0;
    const store = createConversationStore(memoryStorage(), () => `c${++n}`);
    const a = store.create();
    a.messages.push(
      { role: "user", content: "How do lighthouses work?\nDetails please" },
      { role: "assistant", content: "They shine." },
    );
    store.save(a);
    await new Promise((r) => setTimeout(r, 2));
    const b = store.create();
    b.messages.push({ role: "user", content: "x".repeat(80) });
    store.save(b);
    expect(store.list().map((c) => c.id)).toEqual(["c2", "c1"]);
    expect(store.get("c1")!.title).toBe("How do lighthouses work?");
    expect(store.get("c2")!.title).toBe(`${"x".repeat(57)}…`);
    expect(store.get("c1")!.messages).toHaveLength(2);
  });

  it("renames, deletes and forgets the current id of a deleted conversation", () => {
    const store = createConversationStore(memoryStorage());
    const c = store.create();
    c.messages.push({ role: "user", content: "hi" });
    store.save(c);
    store.setCurrent(c.id);
    store.rename(c.id, "  Greetings ");
    expect(store.get(c.id)!.title).toBe("Greetings");
    store.rename(c.id, "   ");
    expect(store.get(c.id)!.title).toBe("Greetings");
    store.remove(c.id);
    expect(store.list()).toEqual([]);
    expect(store.currentId()).toBeNull();
  });

  it("drops the oldest conversations when the quota refuses a write, and caps the count", () => {
    const storage = memoryStorage(2_000);
    const store = createConversationStore(storage);
    for (let i = 0; i < 10; i++) {
      const c = store.create();
      c.messages.push({ role: "user", content: `question ${i} ${"y".repeat(300)}` });
      store.save(c);
    }
    const kept = store.list();
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(10);
    expect(kept[0].messages[0].content).toMatch(/^question 9 /);
    expect(MAX_CONVERSATIONS).toBeGreaterThan(10);
  });

  it("survives corrupt storage", () => {
    const storage = memoryStorage();
    storage.setItem("reflexia.conversations.v1", "{not json");
    expect(createConversationStore(storage).list()).toEqual([]);
    expect(titleFrom("   ")).toBe("New chat");
  });
});
