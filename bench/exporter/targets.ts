/**
 * What bench/exporter holds boxscope's exporter to, checked and printed at the end of a
 * run: at `containers` containers, CPU per scrape at most `maxCpuRatioToCadvisor` × cAdvisor's in
 * the same run, p99 scrape latency under `maxP99Ms`, and at least as many container metric
 * families as cAdvisor serves.
 */
export const EXPORTER_TARGETS = {
  containers: 500,
  maxCpuRatioToCadvisor: 0.5,
  maxP99Ms: 50,
} as const;
