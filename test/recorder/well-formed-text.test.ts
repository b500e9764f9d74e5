// Lone UTF-16 surrogates in event text, through a real pino log file: protobuf (what the chain hashes
// and the stores keep) encodes each as U+FFFD, so a log line that kept "d\ud800", "d\udc00" and
// "d\ufffd" as three ids disagreed with the stored events, which hold one. The Recorder now records
// every text field well-formed, so the log line, the protobuf bytes and the hash hold the same text.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { decodeEvent, encodeEvent, eventFromJson } from "../../src/event/serialize.js";
import { createRecorder } from "../../src/recorder/recorder.js";

describe("lone surrogates in event text", () => {
  it("records each as U+FFFD, so the log line, the protobuf bytes and the chain agree", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "well-formed-")), "audit.ndjson");
    const memory = createMemoryEmitter();
    const recorder = createRecorder({
      service: "projects",
      emitters: [{ kind: "log", destination: path, sync: true }, memory],
    });
    const long = `\udc00${"é".repeat(200)}`; // cut to 256 bytes: the cut path too
    for (const id of ["d\ud800", "d\udc00", "d\ufffd", long]) {
      recorder.recordResourceAccess({
        resourceType: "doc",
        resourceId: id,
        actor: { id: "bob\ud800" },
        result: { success: false, code: "NOT_FOUND", message: "no doc \udfff" },
        attributes: { note: "x\udc00" },
      });
    }
    await recorder.close();

    const logged = readFileSync(path, "utf8")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line).audit);
    expect(logged.map((event) => event.target.id)).toStrictEqual([
      "d\ufffd",
      "d\ufffd",
      "d\ufffd",
      `\ufffd${"é".repeat(126)}…[truncated 148 bytes]`,
    ]);
    expect(
      logged.map((event) => [event.actor.id, event.result.message, event.attributes.note]),
    ).toStrictEqual(Array(4).fill(["bob\ufffd", "no doc \ufffd", "x\ufffd"]));
    // A log line read back and encoded again is the event as the chain hashed it and a store keeps it.
    for (const [i, json] of logged.entries()) {
      const fromLog = eventFromJson(json);
      expect(decodeEvent(encodeEvent(fromLog))).toStrictEqual(fromLog);
      expect(fromLog).toStrictEqual(memory.events[i]);
    }
    expect((await verifyChains(logged.map(eventFromJson), {})).ok).toBe(true);
  });
});
