// Scheduling of loaded variants, sequences and the request queue.
export { createScheduler, variantKey } from "./create-scheduler.ts";
export { defaultParallel } from "./default-parallel.ts";
export { keepAliveMsOf, MAX_TIMER_MS } from "./keep-alive-ms.ts";
export {
  EVICTION_REASONS,
  type EvictionReason,
  type AcquireOptions,
  type Lease,
  type SchedulableVariant,
  type Scheduler,
  type SchedulerMemoryHook,
  type GpuPlan,
  type SchedulerMetricsSink,
  type SchedulerOptions,
  type SchedulerStatus,
  type VariantStatus,
} from "./types.ts";
