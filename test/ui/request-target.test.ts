/**
 * Request targets Node's HTTP parser lets through but the WHATWG URL parser refuses: the viewer must
 * answer them with a clear 400, not drop the connection without a response.
 */
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { storeSource } from "./viewer.js";

let store: AuditStore;
let viewer: UiServer;

beforeAll(async () => {
  store = openAuditStore({ path: join(tempDir(), "http.db") });
  store.insert([sampleEvent()]);
  viewer = await startUiServer({
    port: 0,
    source: storeSource("http.db", store),
  });
});

afterAll(async () => {
  await viewer?.close();
  store?.close();
});

/** Sends `GET <target>` with the viewer's own Host header over a raw socket; resolves to what came back. */
function rawGet(target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(viewer.port, "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
    socket.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${viewer.port}\r\nConnection: close\r\n\r\n`);
  });
}

it.each(["http://127.0.0.1:99999/api/info", "http://[zz/api/info"])(
  "answers GET %s with a 400 and a JSON error, not a dropped connection",
  async (target) => {
    const answer = await rawGet(target);
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 400 Bad Request");
    expect(answer).toContain('{"error":"');
  },
);
