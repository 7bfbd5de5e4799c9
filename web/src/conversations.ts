// Conversations kept in the browser (localStorage): list, create, rename, delete, and the one that is open.
// Every write is whole-list and versioned by key, so a tab reading while another writes sees a full list.
import type { ReflexiaMetaJson } from "../../src/client/index.ts";

/** What the page measured about one reply (the server's usage when it came, else counted from the stream). */
export interface ReplyStats {
  tokens: number;
  /** "usage": the server's completion_tokens; "stream": pieces counted as they arrived (a stopped reply). */
  counted: "usage" | "stream";
  ttftMs?: number;
  tokensPerSecond?: number;
  durationMs: number;
  finishReason?: string;
}

export interface StoredMessage {
  role: "user" | "assistant";
  content: string;
  meta?: ReflexiaMetaJson;
  stats?: ReplyStats;
  /** The error text when the reply failed. */
  error?: string;
  stopped?: boolean;
  /** The request asked for retrieval (RAG) / JSON mode. */
  rag?: boolean;
  json?: boolean;
  /** Tool calls the model made, as the API streamed them. */
  toolCalls?: { id?: string; name: string; arguments: string }[];
}

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  messages: StoredMessage[];
}

/** The part of the Web Storage API the store uses (localStorage in the page; a Map-backed fake in unit tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface ConversationStore {
  /** Newest first. */
  list(): Conversation[];
  get(id: string): Conversation | undefined;
  create(): Conversation;
  /** Stores the conversation (new or changed) and makes its title from the first message when it has none. */
  save(c: Conversation): void;
  rename(id: string, title: string): void;
  remove(id: string): void;
  currentId(): string | null;
  setCurrent(id: string | null): void;
}

const LIST_KEY = "reflexia.conversations.v1";
const CURRENT_KEY = "reflexia.conversation.current";
/** Oldest conversations go first when the list grows past this or the storage quota refuses a write. */
export const MAX_CONVERSATIONS = 200;
export const UNTITLED = "New chat";

export function titleFrom(text: string): string {
  const line = text.trim().split(/\r?\n/)[0] ?? "";
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || UNTITLED;
}

export function createConversationStore(
  storage: KeyValueStorage,
  newId: () => string = () => crypto.randomUUID(),
): ConversationStore {
  const read = (): Conversation[] => {
    try {
      const parsed = JSON.parse(storage.getItem(LIST_KEY) ?? "[]");
      return Array.isArray(parsed)
        ? parsed.filter((c) => c && typeof c.id === "string" && Array.isArray(c.messages))
        : [];
    } catch {
      return [];
    }
  };
  const write = (list: Conversation[]): void => {
    const sorted = [...list].sort((a, b) => b.updatedAt - a.updatedAt).slice(0, MAX_CONVERSATIONS);
    for (;;) {
      try {
        storage.setItem(LIST_KEY, JSON.stringify(sorted));
        return;
      } catch (e) {
        // Quota exceeded: give up the oldest conversation rather than the one being written.
        if (sorted.length <= 1) throw e;
        sorted.pop();
      }
    }
  };
  return {
    list: () => read().sort((a, b) => b.updatedAt - a.updatedAt),
    get: (id) => read().find((c) => c.id === id),
    create() {
      const now = Date.now();
      return { id: newId(), title: "", createdAt: now, updatedAt: now, messages: [] };
    },
    save(c) {
      const firstUser = c.messages.find((m) => m.role === "user");
      const stored: Conversation = {
        ...c,
        title: c.title || (firstUser ? titleFrom(firstUser.content) : ""),
        updatedAt: Date.now(),
      };
      Object.assign(c, { title: stored.title, updatedAt: stored.updatedAt });
      write([stored, ...read().filter((x) => x.id !== c.id)]);
    },
    rename(id, title) {
      const list = read();
      const c = list.find((x) => x.id === id);
      if (!c) return;
      c.title = title.trim() || c.title;
      write(list);
    },
    remove(id) {
      write(read().filter((c) => c.id !== id));
      if (storage.getItem(CURRENT_KEY) === id) storage.removeItem(CURRENT_KEY);
    },
    currentId: () => storage.getItem(CURRENT_KEY),
    setCurrent(id) {
      if (id) storage.setItem(CURRENT_KEY, id);
      else storage.removeItem(CURRENT_KEY);
    },
  };
}
