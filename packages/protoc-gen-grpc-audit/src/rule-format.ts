/**
 * The rule-table format this plugin writes into every rule as `format`, so that the grpc-audit runtime
 * can tell its tables from older ones (no `format`: 1) and refuse newer ones. 2: message shapes carry
 * `sensitive` from enum options marked `debug_redact`, and `default`, `packed` and `delimited` for
 * proto2 and `[packed = false]` fields. Raise it with grpc-audit's `RULE_FORMAT` (a test keeps them
 * equal) whenever the runtime comes to rely on something older tables lack.
 */
export const RULE_FORMAT = 2;
