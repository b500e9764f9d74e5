// The web trail viewer: a read-only page over any store (`grpc-audit ui`), with filters, a timeline of
// events and denials, one event's detail, one request followed across its events, and the chains'
// verification. It is not a dashboard server: no login, no writes, loopback by default.
export type { ApiResponse } from "./api.js";
export { handleApi } from "./api.js";
export { type StatsWorker, type StatsWorkerOptions, startStatsWorker } from "./stats-worker.js";
export {
  isLoopback,
  startUiServer,
  UI_SERVER_DEFAULTS,
  type UiServer,
  type UiServerOptions,
} from "./ui-server.js";
export type { UiSource, UiUnreadable, UiVerifyReport } from "./ui-source.js";
