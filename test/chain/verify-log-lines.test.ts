/**
 * `verify --log` over lines a JSON reader takes for event lines but the log emitter never writes: text
 * before or after the object (skipped before as "other log output"), a key twice (JSON.parse keeps the
 * last, other readers the first), a message that is not the event's kind. Lines of a user's own pino
 * logger (another messageKey, base fields, a mixin) still verify.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { logEvents, type SourceTally } from "../../src/cli/verify-sources.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEYS, recordMutations, SIGNING_KEY } from "./trail.js";

let dir: string;
/** A closed trail of 3 mutations and the final checkpoint, as the log emitter writes it. */
let lines: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verify-log-lines-"));
  lines = await recordLog({ destination: join(dir, "base.ndjson"), sync: true }, join(dir, "base.ndjson"));
});

async function recordLog(emitter: Parameters<typeof createLogEmitter>[0], path: string): Promise<string[]> {
  const recorder = createRecorder({
    service: "projects",
    emitters: [createLogEmitter(emitter)],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
  });
  recordMutations(recorder, 3);
  expect((await recorder.close()).ok).toBe(true);
  return readFileSync(path, "utf8").trimEnd().split("\n");
}

/** Verifies `text` as a log: chain findings as "kind@seq", then the unreadable lines with their reason, then skipped lines. */
async function verifyLog(text: readonly string[]): Promise<string[]> {
  const path = join(dir, `log-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(path, `${text.join("\n")}\n`);
  const tally: SourceTally = { unreadable: [], skippedLines: 0 };
  const report = await verifyChains(logEvents(path, "audit", tally), {
    publicKeys: PUBLIC_KEYS,
    expectSealed: true,
  });
  return [
    ...report.chains.flatMap((chain) => chain.findings.map((finding) => `${finding.kind}@${finding.seq}`)),
    ...tally.unreadable.map((entry) => `${entry.where}: ${entry.reason}`),
    ...(tally.skippedLines > 0 ? [`skipped ${tally.skippedLines}`] : []),
  ];
}

/** The log with line `index` (0-based) replaced by `edit` of it. */
function edited(index: number, edit: (line: string) => string): string[] {
  return lines.map((line, i) => (i === index ? edit(line) : line));
}

const AROUND =
  "text around the JSON object (whitespace or a byte order mark), which the log emitter never writes";

describe("verify --log, on an event line with text around its JSON object", () => {
  it.each([
    ["a leading space", (line: string) => ` ${line}`],
    ["a leading tab", (line: string) => `\t${line}`],
    ["a byte order mark", (line: string) => `\uFEFF${line}`],
    ["a trailing space", (line: string) => `${line} `],
  ])("reports %s as a modified line, not as other log output", async (_, edit) => {
    expect(await verifyLog(edited(1, edit))).toStrictEqual(["missing@2", `line 2: ${AROUND}`]);
  });

  it("reports a forged line put in with a leading space", async () => {
    const forged = JSON.parse(lines[1] as string) as { audit: { target: { id: string } } };
    forged.audit.target.id = "p-FORGED";
    const text = [...lines.slice(0, 3), ` ${JSON.stringify(forged)}`, ...lines.slice(3)];
    expect(await verifyLog(text)).toStrictEqual([`line 4: ${AROUND}`]);
  });
});

describe("verify --log, on a line with a key twice", () => {
  it("reports a forged event before the genuine one under the same key", async () => {
    const forged = JSON.parse(lines[0] as string) as { audit: { target: { id: string } } };
    forged.audit.target.id = "p-FORGED";
    const text = edited(0, (line) =>
      line.replace('"audit":{', `"audit":${JSON.stringify(forged.audit)},"audit":{`),
    );
    expect(await verifyLog(text)).toStrictEqual([
      "missing@1",
      'line 1: the key "audit" appears twice in one object',
    ]);
  });

  it("reports a field of the event twice, and a key spelled with an escape", async () => {
    const twice = edited(1, (line) =>
      line.replace('"target":{', '"target":{"type":"project","id":"p-FORGED"},"target":{'),
    );
    expect(await verifyLog(twice)).toStrictEqual([
      "missing@2",
      'line 2: the key "target" appears twice in one object',
    ]);
    const escaped = edited(1, (line) => line.replace('"audit":{', '"au\\u0064it":{"eventId":"x"},"audit":{'));
    expect(await verifyLog(escaped)).toStrictEqual([
      "missing@2",
      'line 2: the key "audit" appears twice in one object',
    ]);
  });

  it("takes keys that only look alike (inside strings, in other objects) as they are", async () => {
    const text = edited(1, (line) =>
      line.replace("{", '{"note":{"audit":"x","k":"\\"audit\\":{"},"list":[{"audit":1},{"audit":2}],'),
    );
    expect(await verifyLog(text)).toStrictEqual([]);
  });
});

describe("verify --log, on the message of an event line", () => {
  it("reports a msg that is not the event's kind", async () => {
    const text = edited(1, (line) => line.replace('"msg":"resource.mutation"', '"msg":"healthcheck"'));
    expect(await verifyLog(text)).toStrictEqual([
      "missing@2",
      "line 2: its msg is not the kind of the event it holds (resource.mutation)",
    ]);
  });
});

it("verifies the lines of a user's own pino logger: another messageKey, base fields and a mixin", async () => {
  const path = join(dir, "own.ndjson");
  const logger = pino(
    { messageKey: "message", base: { app: "projects", env: "prod" }, mixin: () => ({ region: "eu-1" }) },
    pino.destination({ dest: path, sync: true }),
  );
  const own = await recordLog({ logger }, path);
  expect(JSON.parse(own[0] as string)).toMatchObject({
    message: "resource.mutation",
    app: "projects",
    region: "eu-1",
  });
  expect(await verifyLog(own)).toStrictEqual([]);
  expect(await verifyLog(lines)).toStrictEqual([]);
});

it("verifies the lines of a logger whose bindings and mixin share a key, which pino then writes twice", async () => {
  const path = join(dir, "twice.ndjson");
  const logger = pino(
    { base: { region: "us-1" }, mixin: () => ({ region: "eu-1" }) },
    pino.destination({ dest: path, sync: true }),
  );
  const twice = await recordLog({ logger }, path);
  expect(twice[0]?.match(/"region":/g)).toHaveLength(2);
  expect(await verifyLog(twice)).toStrictEqual([]);
});
