import { register, Metric } from 'prom-client';

/** One instance per metric name in the process-wide registry, however many times a module loads. */
export function metric<T extends Metric>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}
