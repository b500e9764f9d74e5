/**
 * The NATS source reads a message's header from its raw header block instead of the client's parsed
 * `msg.headers`: the scan must give what the client's parser gives (MsgHdrsImpl.decode, the oracle)
 * for every block it reads, and leave to the client every block the client reads otherwise or refuses.
 */
import { jetstream } from "@nats-io/jetstream";
import { headers, MsgHdrsImpl } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { createNatsSource, ensureAuditStream } from "../../src/nats/index.js";
import { scanHeader, UNSURE } from "../../src/nats/raw-headers.js";
import { Random } from "../event/generate-event.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const NAME = "content-type";
/** Header lines, valid and not, including names that differ from NAME by case, space or a character. */
const LINES = [
  "content-type: application/x-protobuf",
  "content-type: application/json",
  "Content-Type: text/plain",
  "content-type:",
  "content-type:   spaced value \t ",
  "content-type:a:b",
  "content-typ: x",
  "content-types: x",
  "content-type : x",
  " content-type: x",
  "content-type: \u00e9t\u00e9 \u00a0",
  "grpc-audit-event-id: 0190",
  "ce-id: 1",
  "no colon here",
  "",
  ":empty name",
  "bad\u00e9name: v",
  "content-type: lone\rcr",
  "content-type: lone\nlf",
  "x: \r",
];
const STATUS = ["NATS/1.0", "NATS/1.0 503", "NATS/1.0 408 Request Timeout", "NATS/1.0: odd"];

/** The client's reading: the value `get` gives, undefined when it has no such header. */
function client(block: Uint8Array): string | undefined {
  const parsed = MsgHdrsImpl.decode(block);
  return parsed.has(NAME) ? parsed.get(NAME) : undefined;
}

describe("scanHeader", () => {
  it("reads what the client's parser reads, and is unsure only where the client could differ (seeded)", () => {
    const r = new Random(77);
    const encoder = new TextEncoder();
    let sure = 0;
    for (let k = 0; k < 5000; k++) {
      const lines = [r.pick(STATUS), ...Array.from({ length: r.int(6) }, () => r.pick(LINES))];
      const text = `${lines.join("\r\n")}${r.chance(0.9) ? "\r\n\r\n" : ""}`;
      const block = encoder.encode(text);
      const scanned = scanHeader(block, block.length, NAME);
      const clean =
        !/[^\r]\n|\r[^\n]|\r$/.test(text) && !lines.slice(1).some((l) => /^[^:]*[^!-~:][^:]*:/.test(l));
      if (scanned === UNSURE) {
        expect(clean && text.endsWith("\r\n"), text).toBe(false);
        continue;
      }
      sure++;
      expect(scanned, JSON.stringify(text)).toStrictEqual(client(block));
    }
    expect(sure).toBeGreaterThan(2000);
  });
});

describe("the NATS source's header()", () => {
  const nc = useNatsServer();

  it("gives what msg.headers gives, without the client parsing the headers", async () => {
    await ensureAuditStream(nc(), { name: "RAW", subjects: ["raw.>"] });
    const sent = [
      { "content-type": "application/json", other: "x" },
      { other: "x", "content-type": " padded " },
      { "Content-Type": "upper only" },
      {},
    ];
    for (const record of sent) {
      const h = headers();
      for (const [key, value] of Object.entries(record)) h.append(key, value);
      await jetstream(nc()).publish("raw.x", new Uint8Array([1]), { headers: h });
    }
    await jetstream(nc()).publish("raw.x", new Uint8Array([2])); // no headers at all
    const source = await createNatsSource({ connection: nc(), stream: "RAW", consumer: "raw" });
    const messages = await source.fetch(sent.length + 1, 1000, new AbortController().signal);
    expect(messages.map((m) => m.header(NAME))).toStrictEqual([
      "application/json",
      "padded",
      undefined,
      undefined,
      undefined,
    ]);
    // The client's parsed headers were never built (MsgImpl keeps them in _headers once asked).
    expect(
      messages.map((m) => (m.msg as unknown as { msg: { _headers?: unknown } }).msg._headers),
    ).toStrictEqual(Array(messages.length).fill(undefined));
    expect(messages.map((m) => m.header(NAME))).toStrictEqual(
      messages.map((m) => (m.msg.headers?.has(NAME) === true ? m.msg.headers.get(NAME) : undefined)),
    );
    await source.close();
  });
});
