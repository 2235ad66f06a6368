// JSON log lines on stdout: one object per event, ready for any log pipeline.

import { LOG_LEVELS } from "./config.js";

/**
 * @callback LogMethod
 * @param {string} msg what happened, a short constant text
 * @param {Record<string, unknown>} [fields] details, logged as fields of the same object
 * @returns {void}
 */

/**
 * @typedef {{ debug: LogMethod, info: LogMethod, warning: LogMethod, error: LogMethod }} Logger
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
  const type = error.name === "Error" ? error.constructor.name : error.name;
  const causes = error instanceof AggregateError ? error.errors : [];
  const detail =
    error.message || causes.map((cause) => cause.message).join("; ");
  return `${type}: ${detail}`.trim();
}

/**
 * A logger writing one JSON object per line, with `time`, `level`, `msg` and `service` first.
 * @param {{ service: string, level?: string, write?: (line: string) => void }} options
 * @returns {Logger}
 */
export function createLogger({
  service,
  level = "info",
  write = (line) => process.stdout.write(line),
}) {
  const threshold = LOG_LEVELS.indexOf(level);
  /** @type {(name: string) => LogMethod} */
  const method = (name) =>
    LOG_LEVELS.indexOf(name) < threshold
      ? () => {}
      : (msg, fields = {}) => {
          const time = new Date().toISOString();
          const entry = { time, level: name, msg, service, ...fields };
          write(`${JSON.stringify(entry, replacer)}\n`);
        };
  return {
    debug: method("debug"),
    info: method("info"),
    warning: method("warning"),
    error: method("error"),
  };
}
