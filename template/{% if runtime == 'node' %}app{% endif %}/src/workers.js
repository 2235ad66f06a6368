// Several server processes on one port (node:cluster): the primary starts `count` workers, each
// running the whole app; it replaces one that dies, sums their metrics for /metrics, and on SIGTERM
// or SIGINT passes the signal on and exits once every worker has drained.

import cluster from "node:cluster";

import { AggregatorRegistry } from "prom-client";

import { METRICS_ASKED, METRICS_SENT } from "./metrics.js";

/**
 * Run `count` workers until a stop signal, then resolve once all have exited.
 * @param {number} count
 * @param {import("pino").Logger} log
 * @returns {Promise<void>}
 */
export function superviseWorkers(count, log) {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  cluster.on("message", async (worker, message) => {
    if (message?.type !== METRICS_ASKED) {
      return;
    }
    try {
      const text = await aggregator.clusterMetrics();
      worker.send({ type: METRICS_SENT, id: message.id, text });
    } catch (error) {
      worker.send({ type: METRICS_SENT, id: message.id, error: String(error) });
    }
  });
  for (let i = 0; i < count; i += 1) {
    cluster.fork();
  }
  return new Promise((resolve) => {
    cluster.on("exit", (worker, code, signal) => {
      if (!stopping) {
        log.warn(
          { pid: worker.process.pid, code, signal },
          "worker died, starting another",
        );
        cluster.fork();
      } else if (Object.keys(cluster.workers ?? {}).length === 0) {
        resolve();
      }
    });
    const stop = (signal) => {
      if (stopping) {
        return;
      }
      stopping = true;
      log.info({ signal, workers: count }, "stopping workers");
      for (const worker of Object.values(cluster.workers ?? {})) {
        worker?.process.kill(signal);
      }
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}
