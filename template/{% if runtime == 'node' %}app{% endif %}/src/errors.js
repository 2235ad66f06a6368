// A data service failing during a request: answered 503 naming the service; the driver's error,
// with its hosts and ports, goes to the log only.

export class Unavailable extends Error {
  name = "Unavailable";

  /**
   * @param {string} service the data service, as the API and /readyz name it
   * @param {unknown} cause the driver's error
   */
  constructor(service, cause) {
    super(`${service} is unavailable`, { cause });
    this.service = service;
  }
}

/**
 * Run one use of a data service; its failure becomes `Unavailable`, unless `unexpected` says the
 * service answered and the request itself was wrong (a bug: left as is, a 500).
 * @template T
 * @param {string} service
 * @param {() => Promise<T>} operation
 * @param {(error: unknown) => boolean} [unexpected]
 * @returns {Promise<T>}
 */
export async function using(service, operation, unexpected = () => false) {
  try {
    return await operation();
  } catch (error) {
    if (unexpected(error)) {
      throw error;
    }
    throw new Unavailable(service, error);
  }
}
