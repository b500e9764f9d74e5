import type { FetchImplementation, JWTVerifyGetKey } from "jose";
import { errorLabel } from "./jwt-errors.js";

/**
 * Remembers which errors came from the key set, and the HTTP status of its last fetch, so that a
 * token refused as "error" can be told apart: an identity provider's outage from a misconfiguration.
 */
export class KeySetDiagnosis {
  private readonly fromKeySet = new WeakMap<object, "read" | "fetched">();
  private lastStatus: number | undefined;

  /** `getKey`, its errors marked as the key set's. */
  watch(getKey: JWTVerifyGetKey, how: "read" | "fetched"): JWTVerifyGetKey {
    return async (header, token) => {
      try {
        return await getKey(header, token);
      } catch (error) {
        if (typeof error === "object" && error !== null) this.fromKeySet.set(error, how);
        throw error;
      }
    };
  }

  /** The fetch of a remote key set, its answer's status remembered. */
  watchFetch(inner: FetchImplementation): FetchImplementation {
    return async (url, init) => {
      this.lastStatus = undefined;
      const response = await inner(url, init);
      this.lastStatus = response.status;
      return response;
    };
  }

  /** A credential-free cause of a refusal as "error". */
  describe(error: unknown): string {
    const how = typeof error === "object" && error !== null ? this.fromKeySet.get(error) : undefined;
    if (how === "read") return `the key set could not give a key: ${errorLabel(error, true)}`;
    if (how === "fetched") {
      const status = this.lastStatus === undefined ? "" : ` (HTTP ${this.lastStatus})`;
      return `the key set could not be fetched${status}: ${errorLabel(error, true)}`;
    }
    return `the key could not verify the token: ${errorLabel(error, true)}`;
  }
}
