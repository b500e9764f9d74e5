// Dead letters of the NATS source: the message published to the dead-letter subject, and which of them are new.
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type PubAck,
} from "@nats-io/jetstream";
import { headers, type MsgHdrs } from "@nats-io/transport-node";
import { AuditConfigError } from "../errors/index.js";
import {
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
} from "../ingest/dead-letter.js";
import type { SourceMessage } from "../ingest/source.js";
import { ensureAuditStream } from "./audit-stream.js";
import { covers } from "./source-checks.js";

/** A message of the NATS source, as its dead letter needs it. */
type NatsMessage = SourceMessage & { readonly msg: JsMsg };

/**
 * The message as it was, with why and where from; its id (stream, sequence and the time the stream
 * stored it) makes a dead letter sent again stored once, and never takes another message for a copy:
 * a stream deleted and made again numbers its messages from 1 again.
 * One that would not fit in the server's largest message (`maxPayload`) with the headers added — a
 * poison message as large as the server allows — goes without the original's headers, then with its
 * value cut (`DEAD_LETTER_TRUNCATED_HEADER`): else it could never be published, and so never be
 * acknowledged, failing again at every redelivery.
 * @internal
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  subject: string,
  message: NatsMessage,
  reason: string,
  maxPayload: number | undefined,
): Promise<PubAck> {
  const marks = (h: MsgHdrs) => {
    h.set(DEAD_LETTER_REASON_HEADER, reason.replace(/[\r\n]+/g, " "));
    h.set(DEAD_LETTER_FROM_HEADER, message.where);
    return h;
  };
  let h = headers();
  try {
    for (const [key, values] of message.msg.headers ?? []) for (const value of values) h.append(key, value);
  } catch {
    // A header block the client cannot parse (the reason says so): the dead letter goes without it.
  }
  marks(h);
  let data = message.data;
  const id = `${message.where} at ${message.msg.timestampNanos}`;
  if (maxPayload !== undefined) {
    // Room for the message id and the header block's framing.
    const room = () => maxPayload - headerBytes(h) - id.length - 64;
    if (data.byteLength > room()) h = marks(headers());
    if (data.byteLength > room()) {
      h.set(DEAD_LETTER_TRUNCATED_HEADER, String(message.data.byteLength));
      data = data.subarray(0, Math.max(0, room()));
    }
  }
  return js.publish(subject, data, { headers: h, msgID: id });
}

/**
 * Makes the stream that keeps the dead letters when it is missing, as `ensureAuditStream` would; one
 * that exists, perhaps made by an operator and shared with other applications' dead letters, is left
 * as it is (subjects, limits) once it is seen to capture `subject`: else the dead letters would go
 * elsewhere, or nowhere.
 * @internal
 */
export async function ensureDeadLetterStream(
  jsm: JetStreamManager,
  name: string,
  subject: string,
): Promise<void> {
  const existing = await jsm.streams.info(name).catch((error: unknown) => {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
      return undefined;
    throw error;
  });
  if (existing === undefined) {
    await ensureAuditStream(jsm, { name, subjects: [subject] });
    return;
  }
  const subjects = existing.config.subjects ?? [];
  if (!subjects.some((captured) => covers(captured, subject)))
    throw new AuditConfigError(
      `nats source: dead-letter stream "${name}" does not capture "${subject}" (its subjects: ` +
        `${JSON.stringify(subjects)}): add that subject to it, or name another stream or subject ` +
        "(deadLetterStream, deadLetterSubject)",
    );
}

/** Most stream sequences remembered as published but not acknowledged (then forgotten, all at once). */
const MAX_UNACKNOWLEDGED = 10_000;

/**
 * Which dead letters are new, so that each message is counted once: a message redelivered before its
 * ack arrived (its batch held longer than `ackWaitMs`) is dead-lettered again, and the stream drops
 * the copy by its id (PubAck `duplicate`). A copy still counts when this source's first attempt, the
 * one that published it, failed at the ack (that attempt was not counted).
 * @internal
 */
export function createDeadLetterCount() {
  const unacknowledged = new Set<number>();
  return {
    async acknowledge(msg: JsMsg, duplicate: boolean): Promise<"duplicate" | undefined> {
      try {
        await msg.ackAck();
      } catch (error) {
        if (!duplicate) {
          if (unacknowledged.size >= MAX_UNACKNOWLEDGED) unacknowledged.clear();
          unacknowledged.add(msg.seq);
        }
        throw error;
      }
      if (unacknowledged.delete(msg.seq) || !duplicate) return undefined;
      return "duplicate";
    },
  };
}

/** The encoded size of a header block, about: "NATS/1.0\r\n", "name: value\r\n" per value, "\r\n". */
function headerBytes(h: MsgHdrs): number {
  let size = 12;
  for (const [key, values] of h)
    for (const value of values) size += Buffer.byteLength(key) + Buffer.byteLength(value) + 4;
  return size;
}
