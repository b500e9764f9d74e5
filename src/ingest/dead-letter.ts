/** Header of a dead letter: why it could not be read. */
export const DEAD_LETTER_REASON_HEADER = "grpc-audit-dead-letter-reason";
/** Header of a dead letter: where it came from (the source message's `where`). */
export const DEAD_LETTER_FROM_HEADER = "grpc-audit-dead-letter-from";
