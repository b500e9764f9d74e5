import type { JsMsg } from "@nats-io/jetstream";

/** Where a JetStream message stands in its consumer: the counters the lost count needs. @internal */
export interface Delivery {
  /** How many times the consumer delivered this message (1: first delivery). */
  readonly deliveryCount: number;
  /** The message's sequence in the stream. */
  readonly streamSequence: number;
  /** The consumer's delivery sequence of this delivery. */
  readonly deliverySequence: number;
}

const ACK_PREFIX = "$JS.ACK.";
/** Most dots after the prefix read here: the format with domain, account hash and a random token has 9. */
const MAX_DOTS = 11;
/** Longest number read here exactly (below 2^53); a longer one goes to the client's parser. */
const MAX_DIGITS = 15;
const dots = new Int32Array(MAX_DOTS);

/**
 * The delivery counters of `msg`, read from its reply subject as the client's `msg.info` reads them
 * ("$JS.ACK.<stream>.<consumer>.<count>.<stream seq>.<delivery seq>.<time>.<pending>", or with
 * "<domain>.<account hash>." after "$JS.ACK." and a token at the end), without splitting the subject
 * into strings and parsing all ten fields: `msg.info` took a microsecond per message and its garbage.
 * A subject it does not read the way the client does, or a client whose message does not keep it
 * where 3.4.0 does, goes to `msg.info` (which throws for a reply that is not JetStream's).
 * @internal
 */
export function deliveryOf(msg: JsMsg): Delivery {
  // The core message under the client's JsMsgImpl (3.x): JsMsg does not declare its reply subject.
  const reply = (msg as unknown as { readonly msg?: { readonly reply?: unknown } }).msg?.reply;
  if (typeof reply === "string" && reply.startsWith(ACK_PREFIX)) {
    let count = 0;
    for (let i = reply.indexOf(".", ACK_PREFIX.length); i !== -1; i = reply.indexOf(".", i + 1)) {
      if (count === MAX_DOTS) return msg.info;
      dots[count++] = i + 1; // where token `count + 3` starts (the prefix holds tokens 0 and 1)
    }
    // 9 tokens in the old format, the delivery count 5th; 11 or more in the new one, the count 7th.
    const tokens = count + 3;
    const first = tokens === 9 ? 1 : tokens >= 11 ? 3 : -1; // index in `dots` of the count's token
    if (first >= 0) {
      const deliveryCount = digits(reply, dots[first] as number, dots[first + 1] as number);
      const streamSequence = digits(reply, dots[first + 1] as number, dots[first + 2] as number);
      const deliverySequence = digits(reply, dots[first + 2] as number, dots[first + 3] as number);
      if (deliveryCount >= 0 && streamSequence >= 0 && deliverySequence >= 0)
        return { deliveryCount, streamSequence, deliverySequence };
    }
  }
  return msg.info;
}

/** The number written in `text` from `start` to the dot before `next`; -1 when it is not all digits. */
function digits(text: string, start: number, next: number): number {
  const end = next - 1;
  if (end <= start || end - start > MAX_DIGITS) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}
