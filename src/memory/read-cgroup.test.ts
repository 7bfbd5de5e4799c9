import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useFakeSystemTree } from "./fake-system-tree.ts";
import { availableCpus, parseLimit, parseProcCgroup, readCgroup } from "./read-cgroup.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const V1_SENTINEL = "9223372036854771712";

const tree = useFakeSystemTree();

describe("readCgroup v2", () => {
  it("reads limit, usage, working set and cpu quota of the process's cgroup", () => {
    const t = tree({
      "proc/self/cgroup": "0::/user.slice/app.service\n",
      "cg/cgroup.controllers": "cpu memory io\n",
      "cg/user.slice/app.service/memory.max": `${GiB}\n`,
      "cg/user.slice/app.service/memory.current": `${512 * MiB}\n`,
      "cg/user.slice/app.service/memory.stat": `anon 1000\nfile 2000\ninactive_file ${100 * MiB}\nactive_file 5\n`,
      "cg/user.slice/app.service/cpu.max": "150000 100000\n",
    });
    const info = readCgroup(t);
    expect(info.version).toBe(2);
    expect(info.path).toBe("/user.slice/app.service");
    expect(info.memory.limitBytes).toBe(GiB);
    expect(info.memory.usageBytes).toBe(512 * MiB);
    expect(info.memory.workingSetBytes).toBe(412 * MiB);
    expect(info.cpu.quotaCores).toBe(1.5);
  });

  it("treats 'max' as no limit", () => {
    const t = tree({
      "proc/self/cgroup": "0::/app\n",
      "cg/cgroup.controllers": "memory\n",
      "cg/app/memory.max": "max\n",
      "cg/app/memory.current": "12345\n",
      "cg/app/cpu.max": "max 100000\n",
    });
    const info = readCgroup(t);
    expect(info.version).toBe(2);
    expect(info.memory.limitBytes).toBeNull();
    expect(info.memory.usageBytes).toBe(12345);
    expect(info.memory.workingSetBytes).toBe(12345);
    expect(info.cpu.quotaCores).toBeNull();
  });

  it("takes the tightest limit on the path to the root, with that cgroup's usage", () => {
    const t = tree({
      "proc/self/cgroup": "0::/parent/child\n",
      "cg/cgroup.controllers": "memory\n",
      "cg/parent/memory.max": `${256 * MiB}`,
      "cg/parent/memory.current": `${200 * MiB}`,
      "cg/parent/cpu.max": "50000 100000",
      "cg/parent/child/memory.max": `${GiB}`,
      "cg/parent/child/memory.current": `${100 * MiB}`,
      "cg/parent/child/cpu.max": "max 100000",
    });
    const info = readCgroup(t);
    expect(info.memory.limitBytes).toBe(256 * MiB);
    expect(info.memory.usageBytes).toBe(200 * MiB);
    expect(info.memory.dir).toBe(join(t.cgroupRoot, "parent"));
    expect(info.cpu.quotaCores).toBe(0.5);
  });

  it("falls back to the mount root when the named path is not mounted (namespaced container)", () => {
    const t = tree({
      "proc/self/cgroup": "0::/../host/path\n",
      "cg/cgroup.controllers": "memory\n",
      "cg/memory.max": `${2 * GiB}`,
      "cg/memory.current": `${GiB}`,
    });
    expect(readCgroup(t).memory.limitBytes).toBe(2 * GiB);
  });
});

describe("readCgroup v1", () => {
  it("reads the memory and co-mounted cpu controllers", () => {
    const t = tree({
      "proc/self/cgroup": "11:pids:/docker/abc\n4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n",
      "cg/memory/docker/abc/memory.limit_in_bytes": `${2 * GiB}\n`,
      "cg/memory/docker/abc/memory.usage_in_bytes": `${GiB}\n`,
      "cg/memory/docker/abc/memory.stat": `cache 5\ninactive_file 7\ntotal_inactive_file ${256 * MiB}\n`,
      "cg/memory/memory.limit_in_bytes": V1_SENTINEL,
      "cg/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "200000\n",
      "cg/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
      "cg/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
      "cg/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
    });
    const info = readCgroup(t);
    expect(info.version).toBe(1);
    expect(info.path).toBe("/docker/abc");
    expect(info.memory.limitBytes).toBe(2 * GiB);
    expect(info.memory.usageBytes).toBe(GiB);
    expect(info.memory.workingSetBytes).toBe(GiB - 256 * MiB);
    expect(info.cpu.quotaCores).toBe(2);
  });

  it("treats the huge v1 sentinel and a -1 quota as no limit (this machine's layout)", () => {
    const t = tree({
      "proc/self/cgroup": "4:memory:/process_api/043c\n1:cpu:/\n0::/\n",
      "cg/unified/cgroup.controllers": "",
      "cg/memory/memory.limit_in_bytes": V1_SENTINEL,
      "cg/memory/process_api/043c/memory.limit_in_bytes": V1_SENTINEL,
      "cg/memory/process_api/043c/memory.usage_in_bytes": "55549952",
      "cg/cpu/cpu.cfs_quota_us": "-1",
      "cg/cpu/cpu.cfs_period_us": "100000",
    });
    const info = readCgroup(t);
    expect(info.version).toBe(1);
    expect(info.memory.limitBytes).toBeNull();
    expect(info.memory.usageBytes).toBe(55549952);
    expect(info.cpu.quotaCores).toBeNull();
  });

  it("falls back to the controller root when the named path is not mounted", () => {
    const t = tree({
      "proc/self/cgroup": "4:memory:/docker/elsewhere\n",
      "cg/memory/memory.limit_in_bytes": `${512 * MiB}`,
      "cg/memory/memory.usage_in_bytes": `${100 * MiB}`,
    });
    const info = readCgroup(t);
    expect(info.memory.limitBytes).toBe(512 * MiB);
    expect(info.cpu.quotaCores).toBeNull();
  });
});

describe("readCgroup on missing or garbage input", () => {
  it("returns nulls when there is no cgroup filesystem", () => {
    const t = tree({ "proc/self/cgroup": "0::/\n" });
    const info = readCgroup({ cgroupRoot: join(t.cgroupRoot, "absent"), procRoot: t.procRoot });
    expect(info.version).toBeNull();
    expect(info.memory.limitBytes).toBeNull();
    expect(info.cpu.quotaCores).toBeNull();
  });

  it("returns nulls without throwing on garbled v2 files", () => {
    const t = tree({
      "proc/self/cgroup": "0::/app\n",
      "cg/cgroup.controllers": "memory",
      "cg/app/memory.max": "lots of memory",
      "cg/app/memory.current": "-5",
      "cg/app/memory.stat": "\u0000\u0001garbage",
      "cg/app/cpu.max": "abc def",
    });
    const info = readCgroup(t);
    expect(info.version).toBe(2);
    expect(info.memory).toMatchObject({ limitBytes: null, usageBytes: null, workingSetBytes: null });
    expect(info.cpu.quotaCores).toBeNull();
  });

  it("returns nulls without throwing on garbled v1 files and /proc/self/cgroup", () => {
    const t = tree({
      "proc/self/cgroup": "this is not\n:a cgroup:file\n4:memory:relative/path\n",
      "cg/memory/memory.limit_in_bytes": "1.5e9",
      "cg/cpu/cpu.cfs_quota_us": "0",
    });
    expect(() => readCgroup(t)).not.toThrow();
    const info = readCgroup(t);
    expect(info.memory.limitBytes).toBeNull();
    expect(info.cpu.quotaCores).toBeNull();
  });

  it("ignores a zero limit, a zero period and a missing /proc/self/cgroup", () => {
    const t = tree({
      "cg/cgroup.controllers": "memory",
      "cg/memory.max": "0",
      "cg/cpu.max": "100000 0",
    });
    const info = readCgroup(t);
    expect(info.memory.limitBytes).toBeNull();
    expect(info.cpu.quotaCores).toBeNull();
  });

  it("does not throw on this machine's real cgroup files", () => {
    const info = readCgroup();
    expect([1, 2, null]).toContain(info.version);
    if (info.memory.limitBytes !== null) expect(info.memory.limitBytes).toBeGreaterThan(0);
  });
});

describe("parsers", () => {
  it.each([
    ["max", null],
    [V1_SENTINEL, null],
    ["9223372036854775807", null],
    ["1073741824\n", 1073741824],
    [" 4096 ", 4096],
    ["-1", null],
    ["", null],
    ["0x10", null],
  ])("parseLimit(%j) → %s", (text, expected) => {
    expect(parseLimit(text)).toBe(expected);
  });

  it("parseProcCgroup keeps colons inside paths and skips malformed lines", () => {
    expect(parseProcCgroup("4:memory:/a:b\nbroken\n0::/x\n")).toEqual([
      { controllers: ["memory"], path: "/a:b" },
      { controllers: [], path: "/x" },
    ]);
  });
});

describe("availableCpus", () => {
  const withQuota = (cpuMax: string) =>
    tree({ "proc/self/cgroup": "0::/app\n", "cg/cgroup.controllers": "cpu", "cg/app/cpu.max": cpuMax });

  it("caps os.availableParallelism by the quota, rounding up, at least 1", () => {
    const n = availableParallelism();
    expect(availableCpus(withQuota("100000 100000"))).toBe(1);
    expect(availableCpus(withQuota("10000 100000"))).toBe(1);
    expect(availableCpus(withQuota("6400000 100000"))).toBe(Math.min(n, 64));
    expect(availableCpus(withQuota("max 100000"))).toBe(n);
    expect(availableCpus(withQuota("150000 100000"))).toBe(Math.min(n, 2));
  });

  it("uses os.availableParallelism without cgroups", () => {
    const t = tree({});
    expect(availableCpus({ cgroupRoot: join(t.cgroupRoot, "none"), procRoot: t.procRoot })).toBe(
      availableParallelism(),
    );
  });
});
