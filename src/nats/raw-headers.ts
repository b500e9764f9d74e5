import type { JsMsg } from "@nats-io/jetstream";

/**
 * One header's value read from a message's raw header block, the bytes NATS carried ("NATS/1.0\r\n",
 * then "name: value\r\n" lines). The client's `msg.headers` parses every line of every message into a
 * map (decoding the block as text, splitting it, checking each name) although an ingester asks for
 * one header; that took a tenth of its CPU. This scan gives the same value as
 * `msg.headers.get(name)` (the first line of that exact name, its value trimmed), and leaves blocks it
 * would not read the same way to the client's parser: a line holding a lone CR or LF, a name with a
 * byte the client refuses, or a client whose message does not keep its raw bytes as 3.4.0 does.
 */

/** The raw parts of a @nats-io/nats-core 3.x message (MsgImpl): its bytes and where its headers end. */
interface RawMsg {
  readonly _msg?: { readonly hdr?: unknown };
  readonly _rdata?: unknown;
}

const utf8 = new TextDecoder();
const CR = 13;
const LF = 10;
const COLON = 58;

/** The message's header `name` (its first value), or undefined when it has none of that name. */
export function messageHeader(msg: JsMsg, name: string): string | undefined {
  const raw = (msg as unknown as { readonly msg?: RawMsg }).msg;
  const hdr = raw?._msg?.hdr;
  const bytes = raw?._rdata;
  if (typeof hdr === "number" && bytes instanceof Uint8Array && hdr <= bytes.length) {
    if (hdr < 0) return undefined;
    const value = scanHeader(bytes, hdr, name);
    if (value !== UNSURE) return value;
  }
  return msg.headers?.has(name) === true ? msg.headers.get(name) : undefined;
}

/** What scanHeader returns for a block it does not read the way the client does. */
export const UNSURE = Symbol("unsure");

/**
 * The first value of header `name` (ASCII) in the header block `bytes[0, end)`, trimmed; undefined
 * when no line has that name; UNSURE when the client's parser could read the block differently or
 * refuse it.
 * @internal
 */
export function scanHeader(bytes: Uint8Array, end: number, name: string): string | undefined | typeof UNSURE {
  let found: string | undefined;
  // The status line first ("NATS/1.0", perhaps a code): never a header.
  let line = lineEnd(bytes, 0, end);
  if (line < 0) return UNSURE;
  let start = line + 2;
  while (start < end) {
    line = lineEnd(bytes, start, end);
    if (line < 0) return UNSURE;
    let colon = start;
    while (colon < line && bytes[colon] !== COLON) colon++;
    if (colon < line) {
      // The client refuses a name outside printable ASCII: let it.
      for (let i = start; i < colon; i++) {
        const b = bytes[i] as number;
        if (b < 33 || b > 126) return UNSURE;
      }
      if (found === undefined && isName(bytes, start, colon, name))
        found = utf8.decode(bytes.subarray(colon + 1, line)).trim();
    }
    start = line + 2;
  }
  return found;
}

/** Where the line from `start` ends (its CR of CRLF); -1 when it holds a lone CR or LF or never ends. */
function lineEnd(bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b === CR) return i + 1 < end && bytes[i + 1] === LF ? i : -1;
    if (b === LF) return -1;
  }
  return -1;
}

function isName(bytes: Uint8Array, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (bytes[start + i] !== name.charCodeAt(i)) return false;
  return true;
}
