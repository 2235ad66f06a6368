// Entry point: `node src/server.js`. Serves until SIGTERM or SIGINT, then drains and exits 0.

import { createApp } from "./app.js";
import { ConfigError, loadSettings } from "./config.js";
import { openDependencies } from "./dependencies.js";
import { createLogger } from "./logger.js";

/** Below Kubernetes' default terminationGracePeriodSeconds (30). */
const SHUTDOWN_GRACE_MS = 20_000;

function main() {
  let settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      throw error;
    }
    const log = createLogger({ service: "service" });
    log.error("invalid configuration", { error: error.message });
    process.exitCode = 2;
    return;
  }
  const log = createLogger({
    service: settings.serviceName,
    level: settings.logLevel,
  });
  const dependencies = openDependencies(settings, log);
  const server = createApp({
    settings,
    checks: dependencies.checks,
    routes: dependencies.routes,
    log,
  });

  server.on("error", (error) => {
    log.error("server failed", { error });
    process.exit(1);
  });
  server.listen(settings.port, () => {
    const checks = Object.keys(dependencies.checks).sort();
    log.info("started", { port: settings.port, checks });
  });

  let stopping = false;
  /** Stop accepting connections, let in-flight requests finish, close the clients. */
  async function stop(signal) {
    if (stopping) {
      return;
    }
    stopping = true;
    log.info("stopping", { signal });
    const deadline = setTimeout(() => {
      log.warn("grace period over, closing open connections");
      server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS);
    deadline.unref();
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeIdleConnections();
    });
    clearTimeout(deadline);
    await dependencies.close();
    log.info("stopped");
  }
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main();
