// What the tests share: a logger that keeps its lines, and an app built around stand-ins.

import { createApp } from "../src/app.js";
import { loadSettings } from "../src/config.js";
import { createLogger } from "../src/logger.js";

/** A logger whose JSON lines end up, parsed, in `lines`. */
export function capture() {
  const lines = [];
  const log = createLogger({
    service: "test",
    level: "debug",
    destination: { write: (line) => lines.push(JSON.parse(line)) },
  });
  return { log, lines };
}

/**
 * An app with these readiness checks and data-service routes (not listening: use `app.inject`).
 * @param {object} [options]
 * @param {Record<string, import("../src/checks.js").Check>} [options.checks]
 * @param {Record<string, import("../src/app.js").Route[]>} [options.routes]
 * @param {import("pino").Logger} [options.log]
 */
export async function appWith({
  checks = {},
  routes = {},
  log = capture().log,
} = {}) {
  const settings = loadSettings({}, { services: [] });
  return createApp({ settings, checks, routes, log });
}
