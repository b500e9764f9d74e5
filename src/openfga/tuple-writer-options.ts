import type { OpenFgaClient } from "@openfga/sdk";
import type { Authorizer } from "../authz/authorizer.js";
import { AuditConfigError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { Recorder } from "../recorder/recorder.js";
import type { OpenFgaAuthorizer } from "./openfga-authorizer.js";

/** Options of `createAuditedTupleWriter`. */
export interface AuditedTupleWriterOptions {
  /** The application's OpenFGA client; every write goes through it unchanged. */
  client: OpenFgaClient;
  /** Receives one TUPLE_CHANGED event per write call, or per 50 tuples of a larger one. */
  recorder: Pick<Recorder, "recordTupleChange">;
  /**
   * Its cached decisions about the written tuples are dropped after every write. Default: none. One
   * with `holdForWrite` (the OpenFGA authorizer) is also held for each write request, from when it is
   * sent until its answer comes (see `OpenFgaAuthorizer.holdForWrite`). After a write with an unknown
   * outcome it is called with `{ unknownOutcome: true }` (an authorizer that does not take that option
   * ignores it); see `OpenFgaCacheOptions.unknownOutcomeHoldMs`.
   */
  authorizer?: Pick<Authorizer, "invalidate"> | Pick<OpenFgaAuthorizer, "invalidate">;
}

/** The option names of `AuditedTupleWriterOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({ client: 1, recorder: 1, authorizer: 1 } satisfies Record<
  keyof AuditedTupleWriterOptions,
  1
>);

/** The options, checked. @internal */
export function resolveOptions(options: AuditedTupleWriterOptions): AuditedTupleWriterOptions {
  const fail = (problem: string) => new AuditConfigError(`createAuditedTupleWriter: ${problem}`);
  if (typeof options !== "object" || options === null) {
    throw fail("options must be an object with `client` and `recorder`");
  }
  rejectUnknownOptions("createAuditedTupleWriter", options, OPTION_NAMES);
  const { client, recorder, authorizer } = options;
  if (typeof client?.write !== "function" || typeof client.writeTuples !== "function") {
    throw fail("`client` must be an OpenFgaClient from @openfga/sdk");
  }
  if (typeof recorder?.recordTupleChange !== "function") throw fail("`recorder` must be a Recorder");
  // Its invalidate is optional (an authorizer without a cache), but one that is not a function would
  // be skipped after every write, leaving stale decisions cached.
  if (
    authorizer !== undefined &&
    (typeof authorizer !== "object" ||
      authorizer === null ||
      (authorizer.invalidate !== undefined && typeof authorizer.invalidate !== "function"))
  ) {
    throw fail("`authorizer` must be an Authorizer (an object whose `invalidate` is a function)");
  }
  return Object.freeze(authorizer === undefined ? { client, recorder } : { client, recorder, authorizer });
}
