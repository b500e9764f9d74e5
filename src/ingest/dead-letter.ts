/** Header of a dead letter: why it could not be read. */
export const DEAD_LETTER_REASON_HEADER = "grpc-audit-dead-letter-reason";
/** Header of a dead letter: where it came from (the source message's `where`). */
export const DEAD_LETTER_FROM_HEADER = "grpc-audit-dead-letter-from";
/**
 * Header of a dead letter whose value was cut to fit the broker's largest message (the original's
 * headers and the two above would not fit beside it): the original value's size in bytes. The whole
 * message stays in the source stream at `from` for as long as that keeps it.
 */
export const DEAD_LETTER_TRUNCATED_HEADER = "grpc-audit-dead-letter-truncated";
