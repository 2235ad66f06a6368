// JSON log lines on stdout: one object per event, ready for any log pipeline.

import { LOG_LEVELS } from "./config.js";

/**
 * @callback LogMethod
 * @param {string} msg what happened, a short constant text
 * @param {Record<string, unknown>} [fields] details, logged as fields of the same object
 * @returns {void}
 */

/**
 * @typedef {object} Logger
 * @property {LogMethod} debug
 * @property {LogMethod} info
 * @property {LogMethod} warn
 * @property {LogMethod} error
 */

/** Errors become "Name: message" (JSON.stringify would turn them into `{}`). */
function replacer(_key, value) {
  return value instanceof Error ? describeError(value) : value;
}

/**
 * "TypeName: message" for any thrown value, like Python's `f"{type(exc).__name__}: {exc}"`.
 * @param {unknown} error
 * @returns {string}
 */
export function describeError(error) {
  if (!(error instanceof Error)) {
    return String(error);
  }
  // The class, as Python logs it (pg's DatabaseError, for one, is named "error").
  const type =
    error.constructor.name === "Error" ? error.name : error.constructor.name;
  const causes = error instanceof AggregateError ? error.errors : [];
  const detail =
    error.message || causes.map((cause) => cause.message).join("; ");
  return `${type}: ${detail}`.trim();
}

/**
 * A logger writing one JSON object per line, with `time`, `level`, `msg` and `service` first
 * (the schema every runtime of this template logs; levels in capitals: DEBUG, INFO, WARN, ERROR).
 * @param {object} options
 * @param {string} options.service the service name every line carries
 * @param {string} [options.level] the least severe level written (default "info")
 * @param {(line: string) => void} [options.write] where lines go (default stdout)
 * @param {() => Record<string, unknown>} [options.context] fields of the moment for every line
 *   (the active trace's ids)
 * @returns {Logger}
 */
export function createLogger({
  service,
  level = "info",
  write = (line) => process.stdout.write(line),
  context = () => ({}),
}) {
  const threshold = LOG_LEVELS.indexOf(level);
  /** @type {(name: string) => LogMethod} */
  const method = (name, upper = name.toUpperCase()) =>
    LOG_LEVELS.indexOf(name) < threshold
      ? () => {}
      : (msg, fields = {}) => {
          const time = new Date().toISOString();
          const entry = {
            time,
            level: upper,
            msg,
            service,
            ...context(),
            ...fields,
          };
          write(`${JSON.stringify(entry, replacer)}\n`);
        };
  return {
    debug: method("debug"),
    info: method("info"),
    warn: method("warn"),
    error: method("error"),
  };
}
