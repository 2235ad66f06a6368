// JSON log lines on stdout through pino, with the field names every runtime of this template
// writes: `time` (ISO 8601), `level` (DEBUG, INFO, WARN, ERROR), `msg` and `service`.

import pino from "pino";

/**
 * The service's logger; Fastify gives each request a child of it.
 * @param {object} options
 * @param {string} options.service the service name every line carries
 * @param {string} [options.level] the least severe level written (default "info")
 * @param {pino.DestinationStream} [options.destination] where lines go (default stdout)
 * @returns {pino.Logger}
 */
export function createLogger({ service, level = "info", destination }) {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
    },
    destination,
  );
}
