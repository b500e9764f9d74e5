import type { FetchImplementation, JWTVerifyGetKey } from "jose";
import { errorLabel } from "./jwt-errors.js";

/**
 * Remembers which errors came from the key set, and which of them from a failed fetch of it with
 * that fetch's HTTP status, so that a token refused as "error" can be told apart: an identity
 * provider's outage from a misconfiguration.
 */
export class KeySetDiagnosis {
  private readonly fromKeySet = new WeakSet<object>();
  /** An error of a failed fetch, and the HTTP status of that fetch when it answered. */
  private readonly failedFetches = new WeakMap<object, number | undefined>();
  private lastStatus: number | undefined;

  /** `getKey`, its errors marked as the key set's. */
  watch(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
    return async (header, token) => {
      try {
        return await getKey(header, token);
      } catch (error) {
        if (typeof error === "object" && error !== null) this.fromKeySet.add(error);
        throw error;
      }
    };
  }

  /**
   * The fetch of a remote key set, its answer's status remembered as soon as it answers. Wrap the
   * fetch that reads no body (not the size-bounded one): a failure while the body is read, such as
   * one too large, then still tells the status it came with.
   */
  watchFetch(inner: FetchImplementation): FetchImplementation {
    return async (url, init) => {
      this.lastStatus = undefined;
      const response = await inner(url, init);
      this.lastStatus = response.status;
      return response;
    };
  }

  /** Marks `error` as the last fetch's failure (or a fetch skipped after one), with that fetch's status. */
  fetchFailed(error: unknown): void {
    if (typeof error === "object" && error !== null) this.failedFetches.set(error, this.lastStatus);
  }

  /** A credential-free cause of a refusal as "error". */
  describe(error: unknown): string {
    const known = typeof error === "object" && error !== null;
    if (known && this.failedFetches.has(error)) {
      const status = this.failedFetches.get(error);
      const answered = status === undefined ? "" : ` (HTTP ${status})`;
      return `the key set could not be fetched${answered}: ${errorLabel(error, true)}`;
    }
    if (known && this.fromKeySet.has(error))
      return `the key set could not give a key: ${errorLabel(error, true)}`;
    return `the key could not verify the token: ${errorLabel(error, true)}`;
  }
}
