// Prometheus metrics shared by every runtime of this template (same names, same labels).

import cluster from "node:cluster";

import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from "prom-client";

/** The messages a worker and the primary exchange for /metrics (see src/workers.js). */
export const METRICS_ASKED = "app:metrics?";
export const METRICS_SENT = "app:metrics";

/** Latency buckets in seconds: the same in every runtime, so dashboards compare like with like. */
const BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/**
 * A registry of its own (tests build many apps) with the process metrics and the app's own. In a
 * worker of several, `exposition()` answers every worker's metrics summed by prom-client's
 * AggregatorRegistry in the primary; alone, this process's.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (cluster.isWorker) {
    // Made in a worker, it answers the primary's requests with this registry's metrics.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
  }
  return {
    registry,
    exposition: () => (cluster.isWorker ? askPrimary() : registry.metrics()),
    requests: new Counter({
      name: "http_requests_total",
      help: "HTTP requests handled, by method, route and status code.",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request latency in seconds, by method and route.",
      labelNames: ["method", "route"],
      buckets: BUCKETS,
      registers: [registry],
    }),
    dependencyUp: new Gauge({
      name: "app_dependency_up",
      help: "1 when the last readiness check of a data service passed, else 0.",
      labelNames: ["service"],
      registers: [registry],
      // across workers: up only while every worker's last check passed
      aggregator: "min",
    }),
  };
}

let asked = 0;
/** @type {Map<number, {resolve: (text: string) => void, reject: (error: Error) => void}>} */
const waiting = new Map();
if (cluster.isWorker) {
  process.on("message", (message) => {
    if (message?.type === METRICS_SENT) {
      const { resolve, reject } = waiting.get(message.id) ?? {};
      waiting.delete(message.id);
      if (message.error) {
        reject?.(new Error(message.error));
      } else {
        resolve?.(message.text);
      }
    }
  });
}

/** Every worker's metrics in the Prometheus text format, from the primary. */
function askPrimary() {
  asked += 1;
  const id = asked;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    process.send({ type: METRICS_ASKED, id });
  });
}
