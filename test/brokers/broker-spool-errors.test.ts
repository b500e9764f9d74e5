// Errors opening a broker emitter's spool name the option as the caller wrote it (`delivery.spool.path`
// of `createBrokerEmitter`), as the option checks do, not the pipeline's own `spool.path`.
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import type { DeliveryEmitter } from "../../src/delivery/index.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { tempDir } from "../delivery/helpers.js";
import { fakeBroker } from "./fake-broker.js";

let dir: ReturnType<typeof tempDir>;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  dir = tempDir("broker-spool");
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  dir.remove();
});

function open(spoolPath: string): DeliveryEmitter {
  const emitter = createBrokerEmitter({
    broker: fakeBroker(),
    topic: "t",
    delivery: { spool: { path: spoolPath } },
  });
  emitters.push(emitter);
  return emitter;
}

describe("createBrokerEmitter's spool", () => {
  it("in use by another emitter of this process: the error names delivery.spool.path", () => {
    const spoolPath = path.join(dir.dir, "spool.db");
    open(spoolPath);
    const second = () => open(spoolPath);
    expect(second).toThrow(AuditConfigError);
    expect(second).toThrow(
      `broker emitter: delivery.spool.path ${spoolPath} is in use by this process (pid ${process.pid}): another delivery emitter has it open. ` +
        "A spool has one owner: give each process (each cluster worker) and each emitter its own spool path",
    );
  });

  it("a path that cannot be opened: the error names delivery.spool.path", () => {
    const folder = path.join(dir.dir, "a-folder");
    fs.mkdirSync(folder);
    const opening = () => open(folder);
    expect(opening).toThrow(AuditConfigError);
    expect(opening).toThrow(
      `broker emitter: cannot open delivery.spool.path ${folder}: it is a folder, not a file`,
    );
  });
});
