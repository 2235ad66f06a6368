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
 * Run one use of a data service; its failure becomes `Unavailable`.
 * @template T
 * @param {string} service
 * @param {() => Promise<T>} operation
 * @returns {Promise<T>}
 */
export async function using(service, operation) {
  try {
    return await operation();
  } catch (error) {
    throw new Unavailable(service, error);
  }
}
