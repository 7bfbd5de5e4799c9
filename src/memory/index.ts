// Memory monitoring: process, system and cgroup figures, the budget derived from them, and the CPU quota.
export {
  createMemoryMonitor,
  USED_SOURCES,
  type UsedSource,
  type MemoryMonitor,
  type MemoryMonitorOptions,
  type MemorySample,
  type GpuDeviceMemory,
  type GpuDeviceSample,
  type GpuMemorySample,
} from "./create-memory-monitor.ts";
export {
  readCgroup,
  availableCpus,
  parseLimit,
  parseProcCgroup,
  CGROUP_VERSIONS,
  type CgroupVersion,
  type CgroupInfo,
  type CgroupMemory,
  type CgroupCpu,
  type ReadCgroupOptions,
} from "./read-cgroup.ts";
