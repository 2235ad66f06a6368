// Prometheus metrics shared by every runtime of this template (same names, same labels).

import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from "prom-client";

/** Latency buckets in seconds: the same in every runtime, so dashboards compare like with like. */
const BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** A registry of its own (tests build many apps) with the process metrics and the app's own. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
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
    }),
  };
}
