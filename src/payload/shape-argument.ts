import { AuditInputError } from "../errors/index.js";
import type { MessageShape } from "../rules/message-shape.js";
import { typeName } from "./read-problems.js";

/**
 * Throws an AuditInputError naming `caller` when `shape` is not a MessageShape: the payload functions
 * never throw for an odd message, but without a shape they cannot read one.
 * @internal
 */
export function checkShape(caller: string, shape: unknown): asserts shape is MessageShape {
  if (typeof shape !== "object" || shape === null || !Array.isArray((shape as MessageShape).fields))
    throw new AuditInputError(
      `${caller}: \`shape\` must be a MessageShape (an object with a fields array), got ${typeName(shape)}`,
    );
}
