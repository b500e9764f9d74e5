/**
 * /api/stats under concurrent requests, over a real SQLite store on a real loopback port. A SQLite
 * store counts synchronously (most of a second over 200,000 events): counts read as requests came held
 * a stop (SIGTERM, then `close()`) until every request that had come was counted. The viewer reads one
 * count at a time, shares it among the requests for the same filter, and starts none after `close()`.
 *
 * The source wraps the store to count its reads, and holds the first until every request has reached
 * the server (Node's `http.server.request.start` diagnostics channel says when): the requests then
 * wait for their counts, as they do behind a synchronous count.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { afterEach, beforeAll, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import type { AuditQuery } from "../../src/store/query.js";
import { handleApi } from "../../src/ui/api.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import type { UiSource } from "../../src/ui/ui-source.js";
import { tempDir } from "../cli/helpers.js";
import { recordDay, TRAIL_ACTORS } from "./trail.js";
import { emptyVerifyReport } from "./viewer.js";

let events: AuditEvent[];
/** What each test opened: its viewer and store (`storeOpen` false once the test closed it). */
const opened: { store: AuditStore; viewer: UiServer; storeOpen: boolean }[] = [];

beforeAll(async () => {
  events = await recordDay();
});

afterEach(async () => {
  for (const { store, viewer, storeOpen } of opened.splice(0)) {
    await viewer.close();
    if (storeOpen) store.close();
  }
});

/** A promise and its resolve function. */
function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves once the server on `port` has received `count` requests for /api/stats. */
function arrivals(port: number, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onStart = (message: unknown) => {
      const { request } = message as { request: IncomingMessage };
      if (request.socket.localPort !== port || !request.url?.startsWith("/api/stats")) return;
      seen += 1;
      if (seen < count) return;
      unsubscribe("http.server.request.start", onStart);
      resolve();
    };
    subscribe("http.server.request.start", onStart);
  });
}

/** How a count is written down: the actor of its filter, `denied` for the timeline's second count. */
const countOf = (filter: AuditQuery) => `${filter.actorId}${filter.decision === "denied" ? " denied" : ""}`;

/**
 * A viewer over a real store of a day of calls whose source writes down each count the store begins
 * (`counted`) and holds the first one until `release()`.
 */
async function startViewer(stats: (store: AuditStore, filter: AuditQuery) => unknown = () => undefined) {
  const store = openAuditStore({ path: join(tempDir(), "stats.db") });
  store.insert(events);
  const counted: string[] = [];
  const firstAsked = deferred();
  const released = deferred();
  const errors: Error[] = [];
  const source: UiSource = {
    name: "stats.db",
    query: async (filter, page) => store.query(filter, page),
    stats: async (filter) => {
      counted.push(countOf(filter));
      if (counted.length === 1) {
        firstAsked.resolve();
        await released.promise;
      }
      stats(store, filter);
      return store.stats(filter);
    },
    verify: async () => emptyVerifyReport(),
  };
  const viewer = await startUiServer({ source, port: 0, onError: (error) => errors.push(error) });
  const entry = { store, viewer, storeOpen: true };
  opened.push(entry);
  const closeStore = () => {
    entry.storeOpen = false;
    store.close();
  };
  return {
    store,
    viewer,
    counted,
    firstAsked: firstAsked.promise,
    release: released.resolve,
    errors,
    closeStore,
  };
}

/** GET /api/stats?<search> on `viewer`: "<status> <body>", or "cut" when the connection was closed. */
function getStats(viewer: UiServer, search: string): Promise<string> {
  return fetch(`${viewer.url}api/stats?${search}`).then(
    async (response) => `${response.status} ${await response.text()}`,
    () => "cut",
  );
}

it("starts no count after close(): the requests still waiting for theirs are cut, not counted", async () => {
  const { viewer, counted, firstAsked, release, closeStore } = await startViewer();
  const arrived = arrivals(viewer.port, TRAIL_ACTORS.length);
  const answers = TRAIL_ACTORS.map((actor) => getStats(viewer, `actor=${actor}`));
  await firstAsked;
  await arrived;
  const closed = viewer.close();
  counted.push("close()");
  release(); // the count running when close() came ends as it would
  await closed;
  closeStore(); // what `grpc-audit ui` does once the viewer is closed
  // Each count waits for the one before it and a turn of the event loop: these turns cover them all.
  for (let turn = 0; turn < 4 * TRAIL_ACTORS.length; turn++) await new Promise((r) => setImmediate(r));
  expect(counted).toEqual([expect.stringMatching(/^(alice|bob|carol|dave)$/), "close()"]);
  expect(await Promise.all(answers)).toEqual(TRAIL_ACTORS.map(() => "cut"));
});

it("counts once for all the requests that ask for the same filter while it waits or runs", async () => {
  const { store, viewer, counted, firstAsked, release } = await startViewer();
  const arrived = arrivals(viewer.port, 5);
  const answers = Array.from({ length: 5 }, () => getStats(viewer, "actor=dave"));
  await firstAsked;
  await arrived;
  release();
  const plain: UiSource = {
    name: "stats.db",
    query: async (filter, page) => store.query(filter, page),
    stats: async (filter) => store.stats(filter),
    verify: async () => emptyVerifyReport(),
  };
  const expected = await handleApi(plain, "/api/stats", new URLSearchParams("actor=dave"));
  expect(expected.body).toMatchObject({ byDecision: { denied: expect.any(Number) } }); // dave: all denied
  expect(await Promise.all(answers)).toEqual(answers.map(() => `200 ${JSON.stringify(expected.body)}`));
  expect(counted).toEqual(["dave", "dave denied"]);
});

it("gives a failed count to each request that shared it, then reads the next filter's", async () => {
  const { viewer, counted, firstAsked, release, errors } = await startViewer((_, filter) => {
    if (filter.actorId === "bob") throw new Error("disk I/O error");
  });
  const arrived = arrivals(viewer.port, 3);
  const answers = Array.from({ length: 3 }, () => getStats(viewer, "actor=bob"));
  await firstAsked;
  await arrived;
  release();
  const failed = `500 ${JSON.stringify({ error: "cannot read the store: disk I/O error" })}`;
  expect(await Promise.all(answers)).toEqual([failed, failed, failed]);
  expect((await getStats(viewer, "actor=alice")).slice(0, 4)).toBe("200 ");
  expect(counted).toEqual(["bob", "alice", "alice denied"]);
  expect(errors.map((error) => error.message)).toEqual([
    "disk I/O error",
    "disk I/O error",
    "disk I/O error",
  ]);
});
