// A log emitter writing asynchronously to a destination it opened, once a write there has failed for
// real (/dev/full, a full tmpfs, a FIFO nobody reads any more): it refuses events instead of accepting
// lines it would lose, takes them again once a write succeeds, and counts each event it gives up.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import type { FlushReport } from "../../src/emitters/emitter.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { sampleEvent } from "../helpers/events.js";
import { until } from "../helpers/fake-sink.js";
import { CALL_KINDS, callOfKind, startProjectServer } from "../helpers/project-server.js";
import { mountTmpfs } from "../store/tmpfs.js";

let cleanups: (() => unknown)[] = [];

afterEach(async () => {
  const left = cleanups.reverse();
  cleanups = []; // a cleanup that throws must not be run again by the next test
  for (const cleanup of left) await cleanup();
});

/** The errors an emitter reported, and a promise of the first. */
function errorLog(): { errors: Error[]; onError: (error: Error) => void; first: Promise<Error> } {
  const errors: Error[] = [];
  let heard: (error: Error) => void = () => {};
  const first = new Promise<Error>((resolve) => {
    heard = resolve;
  });
  return {
    errors,
    first,
    onError: (error) => {
      errors.push(error);
      heard(error);
    },
  };
}

const event = (eventId: string) => ({ ...sampleEvent(), eventId });

/** The message close() reports after giving up `count` held events. */
const gaveUp = (count: number) =>
  `log: close failed: dropped ${count === 1 ? "1 event" : `${count} events`} (destination_failed ${count}): the destination failed and what it held is given up`;

/** Asserts a one-result report of status "error" with `message`, caused by an error of `code`. */
function expectFailure(report: FlushReport, message: string, code: string, pending?: number): void {
  const result = { emitter: "log", status: "error", error: expect.any(AuditEmitError) };
  expect(report).toStrictEqual(
    pending === undefined
      ? { ok: false, results: [result] }
      : { ok: false, results: [{ ...result, pending }], pending },
  );
  expect(report.results[0]?.error?.message).toBe(message);
  expect(report.results[0]?.error?.cause).toMatchObject({ code });
}

describe("a log emitter whose own destination has failed", () => {
  it("refuses events, so that fail-closed calls end UNAVAILABLE, and counts every event it lost (/dev/full)", async () => {
    const { errors, onError, first } = errorLog();
    const emitter = createLogEmitter({ destination: "/dev/full", onError });
    const recorder = createRecorder({ service: "projects", emitters: [emitter] });
    const server = await startProjectServer(
      createAuditInterceptors({ recorder, rules: auditRules, failMode: "closed" }),
    );
    try {
      // Accepted: its line waits to be written, and that write fails.
      expect((await callOfKind(server.client, "unary", new Metadata())).code).toBe(status.OK);
      expect(await first).toMatchObject({
        message: "log: destination write failed",
        cause: { code: "ENOSPC" },
      });

      const codes: string[] = [];
      for (const kind of CALL_KINDS)
        codes.push(status[(await callOfKind(server.client, kind, new Metadata())).code]);
      expect(codes).toStrictEqual(["UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE"]);
      expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 1, dropped: {}, failed: 4 });

      // The line it holds is tried again, fails again, and is still held: not lost yet.
      expectFailure(await emitter.flush(), "log: flush failed", "ENOSPC", 1);
    } finally {
      await server.close();
    }

    expectFailure(await recorder.close(), gaveUp(1), "ENOSPC");
    expect(emitter.stats()).toStrictEqual({
      name: "log",
      emitted: 1,
      dropped: { destination_failed: 1 },
      failed: 4,
    });
    expect(recorder.stats()).toMatchObject({ accepted: 1, failed: 4 });
    // One report per outage, not one per refused event; one for what close() gave up.
    expect(errors.map((error) => error.message)).toStrictEqual(["log: destination write failed", gaveUp(1)]);
  });

  describe("on a file system that fills up and is freed again", () => {
    it("accepts events again once a write succeeds, and writes the lines it held", async () => {
      const disk = mountTmpfs(256);
      cleanups.push(() => disk.remove());
      const file = path.join(disk.dir, "audit.ndjson");
      const { errors, onError, first } = errorLog();
      const emitter = createLogEmitter({ destination: file, onError });
      cleanups.push(() => emitter.close()); // the file closed before the tmpfs is unmounted
      disk.fill();

      expect(emitter.emit(event("held"))).toBe("accepted");
      expect(await first).toMatchObject({ cause: { code: "ENOSPC" } });
      expect(emitter.emit(event("refused"))).toBe("failed");

      disk.free();
      // An emit tries the failed write again (at most once a second); one after it succeeded is accepted.
      let tries = 0;
      await until(() => emitter.emit(event(`after-${tries++}`)) === "accepted");

      expect(await emitter.close()).toStrictEqual({ ok: true, results: [{ emitter: "log", status: "ok" }] });
      const ids = fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => (JSON.parse(line) as { audit: { eventId: string } }).audit.eventId);
      expect(ids).toStrictEqual(["held", `after-${tries - 1}`]);
      expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 2, dropped: {}, failed: tries });
      expect(errors).toHaveLength(1);
    });
  });

  describe("in sync mode, on a file system a line fills up", () => {
    it("ends the line the failed write tore before the next line, so that line reads back", async () => {
      const disk = mountTmpfs(256);
      cleanups.push(() => disk.remove());
      const file = path.join(disk.dir, "audit.ndjson");
      const emitter = createLogEmitter({ destination: file, sync: true, onError: () => {} });
      cleanups.push(() => emitter.close());
      expect(emitter.emit(event("first-"))).toBe("accepted");
      const lineBytes = fs.statSync(file).size; // of an event padded with nothing
      disk.fill(); // every page taken but the file's own last one, which has `room` bytes left
      const room = 4096 - (lineBytes % 4096);
      // A line 100 bytes longer than the room: the disk takes `room` bytes of it, then refuses the rest.
      const torn = { ...event("torn--"), requestId: "x".repeat(room + 100 - lineBytes) };
      expect(emitter.emit(torn)).toBe("failed");
      expect(fs.readFileSync(file, "utf8").endsWith("\n")).toBe(false); // part of a line was written

      disk.free();
      expect(emitter.emit(event("after-"))).toBe("accepted");
      await emitter.close();
      const lines = fs.readFileSync(file, "utf8").split("\n").slice(0, -1);
      expect(lines).toHaveLength(3); // the first line, the torn part ended, the line after
      const ids = [lines[0], lines[2]].map(
        (line) => (JSON.parse(line ?? "") as { audit: { eventId: string } }).audit.eventId,
      );
      expect(ids).toStrictEqual(["first-", "after-"]);
    });
  });

  describe("in sync mode, on a file system that fills up, is freed, and fills up again", () => {
    it("reports each run of failed writes once, counting every event of it", async () => {
      const disk = mountTmpfs(256);
      cleanups.push(() => disk.remove());
      const file = path.join(disk.dir, "audit.ndjson");
      const { errors, onError } = errorLog();
      const emitter = createLogEmitter({ destination: file, sync: true, onError });
      cleanups.push(() => emitter.close());
      disk.fill();
      const full = ["a", "b", "c"].map((id) => emitter.emit(event(`full-1-${id}`)));
      expect([full, errors.length]).toStrictEqual([["failed", "failed", "failed"], 1]);

      disk.free();
      expect(emitter.emit(event("free"))).toBe("accepted");
      disk.fill();
      // Longer than a page: the room left in the file's last page does not take it.
      const again = ["a", "b"].map((id) =>
        emitter.emit({ ...event(`full-2-${id}`), requestId: "x".repeat(8192) }),
      );
      expect([again, errors.length]).toStrictEqual([["failed", "failed"], 2]);
      expect(errors.map((error) => (error.cause as { code?: unknown }).code)).toStrictEqual([
        "ENOSPC",
        "ENOSPC",
      ]);
      expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 1, dropped: {}, failed: 5 });
    });
  });

  it("refuses events for good after a broken pipe, and flush() and close() report at once", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-log-fifo-"));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const fifo = path.join(dir, "audit.fifo");
    execFileSync("mkfifo", [fifo]);
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const { errors, onError, first } = errorLog();
    // Short, so that a flush waiting for writes that never come fails the test soon.
    const emitter = createLogEmitter({ destination: fifo, flushTimeoutMs: 5000, onError });
    expect(emitter.emit(event("read"))).toBe("accepted");
    expect(await emitter.flush()).toStrictEqual({ ok: true, results: [{ emitter: "log", status: "ok" }] });

    fs.closeSync(reader); // nobody reads the FIFO any more: the next write fails with EPIPE
    expect(emitter.emit(event("held"))).toBe("accepted");
    expect(await first).toMatchObject({ cause: { code: "EPIPE" } });
    expect(emitter.emit(event("refused"))).toBe("failed");

    // pino turns the destination's writes into no-ops after EPIPE: nothing is tried, nothing waited for.
    expectFailure(await emitter.flush(), "log: flush failed", "EPIPE", 1);
    expectFailure(await emitter.close(), gaveUp(1), "EPIPE");
    expect(emitter.stats()).toStrictEqual({
      name: "log",
      emitted: 2,
      dropped: { destination_failed: 1 },
      failed: 1,
    });
    expect(errors.map((error) => error.message)).toStrictEqual(["log: destination write failed", gaveUp(1)]);
  });
});
