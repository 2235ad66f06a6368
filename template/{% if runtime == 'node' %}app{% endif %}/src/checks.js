// Readiness checks: one per data service, each bounded by a timeout, run concurrently.

/** @typedef {() => Promise<unknown>} Check resolves when the service answers, rejects otherwise */

const TIMED_OUT = Symbol("timed out");

/**
 * Run every check at once; map each name to "ok" or why it failed (for the log, not the client).
 * @param {Record<string, Check>} checks
 * @param {number} timeoutSeconds
 * @returns {Promise<Record<string, string>>}
 */
export async function runChecks(checks, timeoutSeconds) {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => [
      name,
      await outcome(check, timeoutSeconds),
    ]),
  );
  return Object.fromEntries(results);
}

/**
 * @param {Check} check
 * @param {number} timeoutSeconds
 * @returns {Promise<string>}
 */
async function outcome(check, timeoutSeconds) {
  let timer;
  const timeout = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), timeoutSeconds * 1000);
  });
  try {
    await Promise.race([check(), timeout]);
    return "ok";
  } catch (error) {
    return error === TIMED_OUT
      ? `timeout after ${timeoutSeconds}s`
      : describeError(error);
  } finally {
    clearTimeout(timer);
  }
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
