// API keys: loading from config and file, header extraction, verification.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReflexiaError } from "../errors/index.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import {
  assertQuotaKeys,
  createApiKeyIdentifier,
  createApiKeyVerifier,
  loadApiKeys,
  loadNamedApiKeys,
  presentedKey,
} from "./auth.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rfx-auth-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const auth = (a: Partial<{ enabled: boolean; api_key: string; keys_file: string }>) => ({
  auth: { enabled: false, api_key: "", keys_file: "", ...a },
});

describe("loadApiKeys", () => {
  it("merges api_key with the keys file, skipping blanks and # comments", async () => {
    const file = join(dir, "keys.txt");
    await writeFile(file, "# team keys\nalpha-key\n\n  beta-key  \r\n#gamma\n");
    expect(loadApiKeys(auth({ enabled: true, api_key: "main", keys_file: file }))).toEqual([
      "main",
      "alpha-key",
      "beta-key",
    ]);
  });

  it("refuses auth without any key, and a missing keys file, naming the key", () => {
    expect(() => loadApiKeys(auth({ enabled: true }))).toThrow(/API_KEY/);
    try {
      loadApiKeys(auth({ keys_file: join(dir, "missing") }));
      expect.unreachable();
    } catch (e) {
      expect((e as ReflexiaError).code).toBe("RFX_CONFIG_INVALID");
      expect((e as ReflexiaError).message).toContain("API_KEYS_FILE");
    }
  });
});

describe("presentedKey and the verifier", () => {
  it("reads Bearer (any case) and X-API-Key", () => {
    expect(presentedKey({ authorization: "Bearer abc" })).toBe("abc");
    expect(presentedKey({ authorization: "bearer  abc " })).toBe("abc");
    expect(presentedKey({ "x-api-key": "xyz" })).toBe("xyz");
    expect(presentedKey({ authorization: "Basic Zm9vOmJhcg==" })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
  });

  it("accepts exactly the configured keys", () => {
    const verify = createApiKeyVerifier(["k1", "a-much-longer-key"]);
    expect(verify("k1")).toBe(true);
    expect(verify("a-much-longer-key")).toBe(true);
    expect(verify("k2")).toBe(false);
    expect(verify("k1 ")).toBe(false);
    expect(verify("")).toBe(false);
    expect(verify(undefined)).toBe(false);
    expect(createApiKeyVerifier([])("k1")).toBe(false);
  });
});

describe("named keys", () => {
  it("reads name:key lines, names bare keys by line, refuses a name used twice, and identifies the key", () => {
    const dir = mkdtempSync(join(tmpdir(), "rfx-named-"));
    const file = join(dir, "keys");
    writeFileSync(file, "# team keys\nalice:sk-a\nsk-bare\nbob: sk-b \n");
    const keys = loadNamedApiKeys({ auth: { enabled: true, api_key: "main", keys_file: file } });
    expect(keys).toEqual([
      { name: "default", key: "main" },
      { name: "alice", key: "sk-a" },
      { name: "key-3", key: "sk-bare" },
      { name: "bob", key: "sk-b" },
    ]);
    const identify = createApiKeyIdentifier(keys);
    expect(identify("sk-b")).toBe("bob");
    expect(identify("alice:sk-a")).toBeUndefined();
    writeFileSync(file, "a:1\na:2\n");
    expect(() => loadNamedApiKeys({ auth: { enabled: true, api_key: "", keys_file: file } })).toThrow(/used twice/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("quotas", () => {
  const keys = [
    { name: "alice", key: "a-secret" },
    { name: "bob", key: "b-secret" },
  ];
  it("refuse a quota on a key name no key has, naming the names there are", () => {
    expect(() => assertQuotaKeys([{ key: "alcie", tokens: 10, window_seconds: 60 }], keys)).toThrow(
      /API_KEY_QUOTAS\) \[0\]: key "alcie" names no API key \(named: alice, bob\)/,
    );
  });
  it("refuse a quota that sets no limit, and take one that does", () => {
    expect(() => assertQuotaKeys([{ key: "bob", window_seconds: 60 }], keys)).toThrow(
      /sets neither tokens nor requests/,
    );
    expect(() => assertQuotaKeys([{ key: "alice", requests: 5, window_seconds: 60 }], keys)).not.toThrow();
  });
});
