// The benchmarks view (filled in below once the server routes exist).
import type { View } from "./main.ts";
export function createBenchmarksView(): View {
  return { show() {}, hide() {}, refresh: async () => {} };
}
