// JSON log lines on stdout through pino in the Elastic Common Schema (ECS), formatted by Elastic's
// @elastic/ecs-pino-format: `@timestamp`, `log.level` (debug, info, warn, error), `message`,
// `service.name` and `service.version`, errors as `error.type`, `error.message`, `error.stack_trace`.

import { ecsFormat } from "@elastic/ecs-pino-format";
import pino from "pino";

/**
 * The service's logger; Fastify gives each request a child of it.
 * @param {object} options
 * @param {string} options.service the service name every line carries
 * @param {string} [options.version] the service version every line carries
 * @param {string} [options.level] the least severe level written (default "info")
 * @param {pino.DestinationStream} [options.destination] where lines go (default stdout)
 * @returns {pino.Logger}
 */
export function createLogger({
  service,
  version,
  level = "info",
  destination,
}) {
  return pino(
    {
      ...ecsFormat({
        serviceName: service,
        serviceVersion: version,
        apmIntegration: false, // trace ids come from OpenTelemetry (app.js)
      }),
      level,
    },
    destination,
  );
}
