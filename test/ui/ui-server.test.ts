/** The viewer's HTTP server on a real loopback port: page, headers, read-only, Host check, errors. */
import { once } from "node:events";
import { mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditConfigError, AuditInputError } from "../../src/errors/index.js";
import type { AuditPage } from "../../src/store/audit-store.js";
import { STATIC_DIR } from "../../src/ui/static-assets.js";
import { isLoopback, ownHostCheck, startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import type { UiSource } from "../../src/ui/ui-source.js";
import { emptyVerifyReport } from "./viewer.js";

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const emptyPage = async (): Promise<AuditPage> => ({ events: [], nextCursor: undefined });
/** What the source was asked, and what its query does (an empty page unless a test says otherwise). */
const calls: string[] = [];
let query: UiSource["query"] = emptyPage;
const source: UiSource = {
  name: "test.db",
  query: (filter, page) => {
    calls.push("query");
    return query(filter, page);
  },
  stats: async () => {
    calls.push("stats");
    return { total: 0, byType: {}, byResult: {}, byDecision: {}, topOperations: [], perHour: [] };
  },
  verify: async () => {
    calls.push("verify");
    return emptyVerifyReport();
  },
};
const errors: Error[] = [];
let viewer: UiServer;

beforeAll(async () => {
  viewer = await startUiServer({ source, port: 0, onError: (error) => errors.push(error) });
});

afterAll(async () => {
  await viewer?.close();
});

/** A raw HTTP request (fetch cannot set the Host header or send any method), to `port` (the viewer's). */
function send(method: string, path: string, headers: Record<string, string> = {}, port = viewer.port) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on("error", reject);
      req.end(method === "POST" || method === "PUT" ? "{}" : undefined);
    },
  );
}

describe("the page", () => {
  it("listens on 127.0.0.1 and serves the page with its security headers", async () => {
    expect(viewer.url).toBe(`http://127.0.0.1:${viewer.port}/`);
    const response = await fetch(viewer.url);
    expect(response.status).toBe(200);
    expect(Object.fromEntries([...response.headers].filter(([name]) => name !== "date"))).toEqual({
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cross-origin-resource-policy": "same-origin",
      "x-frame-options": "DENY",
      "content-type": "text/html; charset=utf-8",
      "content-length": String(readFileSync(join(STATIC_DIR, "index.html")).length),
      "cache-control": "no-cache",
      connection: "keep-alive",
      "keep-alive": "timeout=5",
    });
    expect(await response.text()).toBe(readFileSync(join(STATIC_DIR, "index.html"), "utf8"));
  });

  it("serves every file the page and its modules load, and nothing from a CDN", async () => {
    const html = readFileSync(join(STATIC_DIR, "index.html"), "utf8");
    const linked = [...html.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1]);
    expect(linked).toEqual(["/favicon.svg", "/style.css", "/app.js"]);
    const modules = ["app.js", "api.js", "chart.js", "dom.js", "format.js", "views.js"];
    const imported = modules.flatMap((file) =>
      [...readFileSync(join(STATIC_DIR, file), "utf8").matchAll(/from "\.\/([\w-]+\.js)"/g)].map((m) => m[1]),
    );
    for (const path of new Set([...linked, ...imported.map((file) => `/${file}`)])) {
      const response = await fetch(new URL(path ?? "", viewer.url));
      expect([path, response.status]).toEqual([path, 200]);
    }
    expect((await fetch(new URL("/app.js", viewer.url))).headers.get("content-type")).toBe(
      "text/javascript; charset=utf-8",
    );
    // Every module imports only its neighbours (no CDN, no bare package name a browser cannot load).
    const specifiers = modules.flatMap((file) =>
      [...readFileSync(join(STATIC_DIR, file), "utf8").matchAll(/^import .* from "([^"]*)";$/gm)].map(
        (m) => m[1],
      ),
    );
    expect(specifiers.length).toBeGreaterThan(modules.length);
    expect(specifiers.filter((specifier) => !/^\.\/[\w-]+\.js$/.test(specifier ?? ""))).toEqual([]);
  });

  it("answers 404 for anything else, also a path out of its folder", async () => {
    for (const path of ["/nothing.js", "/../package.json", "/%2e%2e/package.json", "/ui-server.ts"]) {
      const answer = await send("GET", path);
      expect([path, answer.status, answer.body]).toEqual([
        path,
        404,
        JSON.stringify({ error: `nothing at ${new URL(path, "http://x").pathname}` }),
      ]);
    }
  });
});

describe("read-only, own host only", () => {
  it.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])(
    "answers %s with 405 and reads nothing",
    async (method) => {
      calls.length = 0;
      const answer = await send(method, "/api/events");
      expect([answer.status, answer.headers.allow, answer.body]).toEqual([
        405,
        "GET, HEAD",
        JSON.stringify({ error: "the viewer is read-only: use GET" }),
      ]);
      expect(answer.headers["content-security-policy"]).toBe(CSP);
      expect(calls).toEqual([]);
    },
  );

  it("answers HEAD with the headers only", async () => {
    const answer = await send("HEAD", "/");
    expect([answer.status, answer.headers["content-type"], answer.body]).toEqual([
      200,
      "text/html; charset=utf-8",
      "",
    ]);
  });

  it("refuses a request addressed to another host (a rebound DNS name), and takes its own names", async () => {
    calls.length = 0;
    const refused = await send("GET", "/api/events", { Host: `attacker.example:${viewer.port}` });
    expect([refused.status, refused.body]).toEqual([
      403,
      JSON.stringify({ error: "this viewer answers only requests addressed to its own host" }),
    ]);
    expect(calls).toEqual([]);
    for (const host of [`localhost:${viewer.port}`, `127.0.0.1:${viewer.port}`, `[::1]:${viewer.port}`]) {
      expect([host, (await send("GET", "/api/info", { Host: host })).status]).toEqual([host, 200]);
    }
  });
});

describe("its own page only", () => {
  const own = () => ({ Host: `127.0.0.1:${viewer.port}` });
  it.each([
    ["Sec-Fetch-Site: cross-site", { "Sec-Fetch-Site": "cross-site" }],
    ["Sec-Fetch-Site: same-site (another port of this machine)", { "Sec-Fetch-Site": "same-site" }],
    ["an Origin of another site", { Origin: "https://evil.example" }],
    ["an Origin of another port", { Origin: "http://127.0.0.1:1" }],
    ["an Origin of null (a sandboxed page)", { Origin: "null" }],
  ])("refuses an API request with %s, and reads nothing", async (_, headers) => {
    for (const path of ["/api/verify", "/api/events", "/api/info"]) {
      calls.length = 0;
      const answer = await send("GET", path, { ...own(), ...headers });
      expect([path, answer.status, answer.body]).toEqual([
        path,
        403,
        JSON.stringify({
          error: "the viewer's API answers only the viewer's own page, not a request from another site",
        }),
      ]);
      expect(calls).toEqual([]);
    }
  });

  it.each([
    ["no Sec-Fetch-Site nor Origin (curl)", {}],
    ["Sec-Fetch-Site: same-origin", { "Sec-Fetch-Site": "same-origin" }],
    ["Sec-Fetch-Site: none (a typed address)", { "Sec-Fetch-Site": "none" }],
    ["its own Origin", { Origin: "http://127.0.0.1:PORT", "Sec-Fetch-Site": "same-origin" }],
  ])("answers an API request with %s", async (_, headers) => {
    const withPort = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, value.replace("PORT", String(viewer.port))]),
    );
    expect((await send("GET", "/api/verify", { ...own(), ...withPort })).status).toBe(200);
  });

  it("serves the page itself to any site (a link to it)", async () => {
    const answer = await send("GET", "/", { ...own(), "Sec-Fetch-Site": "cross-site" });
    expect(answer.status).toBe(200);
  });
});

describe("the Host headers a viewer answers", () => {
  it("are its names with its port, without one on port 80 (where a browser leaves it out), any IP address, and the extra names", () => {
    const own = ownHostCheck(["127.0.0.1", "::1", "localhost"], ["audit.example.com", "proxy:8443"], 8080);
    const answered = [
      "127.0.0.1:8080",
      "[::1]:8080",
      "localhost:8080",
      "10.1.2.3:8080",
      "[fe80::1]:8080",
      "audit.example.com",
      "audit.example.com:8080",
      "proxy:8443",
    ];
    const refused = [
      "127.0.0.1",
      "localhost",
      "localhost:80",
      "10.1.2.3",
      "10.1.2.3:8081",
      "attacker.example:8080",
      "audit.example.com:9999",
      "proxy",
      "proxy:8080",
      "",
    ];
    expect([...answered, ...refused].filter(own)).toEqual(answered);
    const on80 = ownHostCheck(["::1", "localhost"], [], 80);
    expect(["[::1]", "localhost", "localhost:80", "10.1.2.3", "attacker.example"].filter(on80)).toEqual([
      "[::1]",
      "localhost",
      "localhost:80",
      "10.1.2.3",
    ]);
  });

  it("are checked on a viewer bound to every address too, which answers on 127.0.0.1 (DNS rebinding)", async () => {
    const wide = await startUiServer({
      source,
      host: "0.0.0.0",
      port: 0,
      allowedHosts: ["Audit.Example.com", "proxy.example:8443"],
    });
    try {
      expect(wide.loopback).toBe(false);
      calls.length = 0;
      const rebound = `rebind.attacker.example:${wide.port}`;
      const refused = await send("GET", "/api/events", { Host: rebound }, wide.port);
      expect([refused.status, refused.body]).toEqual([
        403,
        JSON.stringify({ error: "this viewer answers only requests addressed to its own host" }),
      ]);
      expect(calls).toEqual([]);
      const names = [
        `127.0.0.1:${wide.port}`,
        `localhost:${wide.port}`,
        `0.0.0.0:${wide.port}`,
        `192.168.1.5:${wide.port}`,
        "audit.example.com",
        `audit.example.com:${wide.port}`,
        "proxy.example:8443",
      ];
      for (const host of names) {
        expect([host, (await send("GET", "/api/info", { Host: host }, wide.port)).status]).toEqual([
          host,
          200,
        ]);
      }
      expect((await send("GET", "/api/info", { Host: "proxy.example" }, wide.port)).status).toBe(403);
    } finally {
      await wide.close();
    }
  });

  it("takes only host names and addresses as extra names", async () => {
    for (const name of ["", "a b", "http://x", "x/y", "x:port", "[::1", "x:123456"]) {
      await expect(startUiServer({ source, port: 0, allowedHosts: [name] })).rejects.toThrow(
        new AuditConfigError(
          `web viewer: \`allowedHosts\` has ${JSON.stringify(name)}: use a host name or address, with an optional :port`,
        ),
      );
    }
  });

  it("are checked whenever the address bound is loopback, in whatever form it was given", async () => {
    for (const host of ["127.0.0.1", "127.9.9.9", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1", "LOCALHOST"])
      expect([host, isLoopback(host)]).toEqual([host, true]);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "::ffff:10.0.0.1", "example.com", "128.0.0.1"])
      expect([host, isLoopback(host)]).toEqual([host, false]);
    // "127.1" is no IP address to a parser, but the kernel binds 127.0.0.1: the Host check is on.
    const short = await startUiServer({ source, host: "127.1", port: 0 });
    try {
      expect(short.loopback).toBe(true);
      const refused = await send("GET", "/api/info", { Host: "attacker.example" }, short.port);
      expect(refused.status).toBe(403);
      const own = await send("GET", "/api/info", { Host: `127.0.0.1:${short.port}` }, short.port);
      expect(own.status).toBe(200);
    } finally {
      await short.close();
    }
  });
});

describe("errors", () => {
  it("answers 500 when the store fails, and reports the error", async () => {
    query = async () => {
      throw new Error("disk I/O error");
    };
    try {
      const response = await fetch(new URL("/api/events", viewer.url));
      expect([response.status, await response.json()]).toEqual([
        500,
        { error: "cannot read the store: disk I/O error" },
      ]);
      expect(errors.map((e) => e.message)).toEqual(["disk I/O error"]);
    } finally {
      query = emptyPage;
      errors.length = 0;
    }
  });

  it("calls onError as a method of its options, as the caller wrote it", async () => {
    const failing: UiSource = {
      ...source,
      query: async () => {
        throw new Error("disk I/O error");
      },
    };
    const reported: string[] = [];
    const options = {
      source: failing,
      port: 0,
      onError(this: { source: UiSource } | undefined, error: Error) {
        reported.push(`${this?.source.name}: ${error.message}`);
      },
    };
    const own = await startUiServer(options);
    try {
      expect((await fetch(new URL("/api/events", own.url))).status).toBe(500);
    } finally {
      await own.close();
    }
    expect(reported).toEqual(["test.db: disk I/O error"]);
  });

  it("answers 400 when the store refuses the filter", async () => {
    query = async () => {
      throw new AuditInputError("audit query: `limit` must be an integer from 1 to 1000");
    };
    try {
      const response = await fetch(new URL("/api/events", viewer.url));
      expect([response.status, await response.json()]).toEqual([
        400,
        { error: "audit query: `limit` must be an integer from 1 to 1000" },
      ]);
      expect(errors).toEqual([]);
    } finally {
      query = emptyPage;
    }
  });

  it.each([-1, 65536, 1.5])("refuses port %s", async (port) => {
    await expect(startUiServer({ source, port })).rejects.toThrow(
      new AuditConfigError("web viewer: `port` must be an integer from 0 to 65535"),
    );
  });

  it("throws when the port is taken", async () => {
    await expect(startUiServer({ source, port: viewer.port })).rejects.toThrow(
      `web viewer: cannot listen on 127.0.0.1 port ${viewer.port} (EADDRINUSE)`,
    );
  });

  it("throws when the page's files are missing (a build that did not copy them)", async () => {
    const empty = mkdtempSync(join(tmpdir(), "grpc-audit-ui-"));
    await expect(startUiServer({ source, port: 0, staticDir: join(empty, "static") })).rejects.toThrow(
      `web viewer: its files are missing from ${join(empty, "static")}; rebuild the package`,
    );
    await expect(startUiServer({ source, port: 0, staticDir: empty })).rejects.toThrow(
      `web viewer: ${empty} has no index.html; rebuild the package`,
    );
  });
});

describe("concurrency", () => {
  it("runs one verification (a read of the whole store) for the requests that ask while it runs", async () => {
    let verifications = 0;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let statsAsked: () => void = () => {};
    const asked = new Promise<void>((resolve) => {
      statsAsked = resolve;
    });
    const shared = await startUiServer({
      port: 0,
      source: {
        ...source,
        stats: async (filter) => {
          statsAsked();
          return source.stats(filter);
        },
        verify: async () => {
          verifications++;
          await released;
          return emptyVerifyReport(verifications);
        },
      },
    });
    try {
      // Pipelined on one connection: the server reads them in order, so once the stats are asked
      // for, both verifications have been asked for too.
      const socket = connect(shared.port, "127.0.0.1");
      let answer = "";
      socket.on("data", (chunk: Buffer) => {
        answer += chunk.toString();
      });
      const closed = once(socket, "close");
      const get = (path: string, close = "") =>
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${shared.port}\r\n${close}\r\n`;
      socket.write(get("/api/verify") + get("/api/verify") + get("/api/stats", "Connection: close\r\n"));
      await asked;
      expect(verifications).toBe(1);
      release();
      await closed;
      const responses = answer
        .split(/(?=HTTP\/1\.1 \d{3} )/)
        .map((response) => [response.split("\r\n")[0], response.split("\r\n\r\n")[1]]);
      const report = JSON.stringify({
        ...emptyVerifyReport(1),
        unreadableCount: 0,
        worst: null,
      });
      expect(responses.slice(0, 2)).toEqual([
        ["HTTP/1.1 200 OK", report],
        ["HTTP/1.1 200 OK", report],
      ]);
      expect(responses.length).toBe(3);
    } finally {
      await shared.close();
    }
  });
});
