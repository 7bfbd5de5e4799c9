import { describe, expect, it } from "vitest";
import { createSequencePool } from "./nlc-sequence-pool.ts";

describe("sequence pool", () => {
  it("hands out free items, then queues waiters in FIFO order", async () => {
    const pool = createSequencePool(["s0", "s1"]);
    expect(await pool.acquire()).toBe("s0");
    expect(await pool.acquire()).toBe("s1");
    expect(pool.busy()).toBe(2);
    const order: string[] = [];
    const w1 = pool.acquire().then((s) => order.push(`w1:${s}`));
    const w2 = pool.acquire().then((s) => order.push(`w2:${s}`));
    expect(pool.waiting()).toBe(2);
    pool.release("s1");
    pool.release("s0");
    await Promise.all([w1, w2]);
    expect(order).toEqual(["w1:s1", "w2:s0"]);
  });

  it("resolves an aborted waiter with null and skips it on release", async () => {
    const pool = createSequencePool([1]);
    await pool.acquire();
    const ac = new AbortController();
    const aborted = pool.acquire(ac.signal);
    const next = pool.acquire();
    ac.abort();
    expect(await aborted).toBeNull();
    pool.release(1);
    expect(await next).toBe(1);
    expect(await pool.acquire(AbortSignal.abort())).toBeNull();
  });

  it("wakes waiters with null on close and refuses new acquires", async () => {
    const pool = createSequencePool(["a"]);
    await pool.acquire();
    const waiter = pool.acquire();
    pool.close();
    expect(await waiter).toBeNull();
    expect(await pool.acquire()).toBeNull();
  });
});
