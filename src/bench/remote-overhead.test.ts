import { describe, expect, it } from "vitest";
import { parseCpuList, placementOf } from "./remote-overhead.ts";

describe("remote-overhead placement", () => {
  it("reads taskset CPU lists", () => {
    expect(parseCpuList("1")).toEqual([1]);
    expect(parseCpuList("0,2")).toEqual([0, 2]);
    expect(parseCpuList("2-4,0")).toEqual([0, 2, 3, 4]);
    expect(() => parseCpuList("1-")).toThrow(/not a CPU list/);
    expect(() => parseCpuList("")).toThrow(/not a CPU list/);
  });

  it("splits the CPUs between llama-server (upper half) and the front with the client, as two hosts", () => {
    expect(placementOf({}, [0, 1])).toMatchObject({ upstream: "1", front: "0", threads: 1 });
    expect(placementOf({}, [0, 1, 2, 3])).toMatchObject({ upstream: "2,3", front: "0,1", threads: 2 });
    expect(placementOf({ upstreamCpus: "3", threads: 4 }, [0, 1, 2, 3])).toMatchObject({
      upstream: "3",
      front: "0,1,2",
      threads: 4,
    });
    // One CPU cannot be split: the error says what to do instead.
    expect(() => placementOf({}, [0])).toThrow(/--shared/);
    expect(() => placementOf({ upstreamCpus: "0-1" }, [0, 1])).toThrow(/--upstream-cpus is 0-1/);
  });

  it("leaves every process on every CPU in the shared layout", () => {
    const p = placementOf({ layout: "shared" }, [0, 1]);
    expect(p.upstream).toBeUndefined();
    expect(p.front).toBeUndefined();
    expect(p.threads).toBe(2);
  });
});
