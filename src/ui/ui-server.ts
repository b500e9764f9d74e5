import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, BlockList, isIP, isIPv6 } from "node:net";
import { AuditConfigError, AuditError, AuditInputError, toError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import { callHook } from "../errors/report.js";
import { handleApi } from "./api.js";
import { UiHttpError } from "./http-error.js";
import { sharedSource } from "./shared-source.js";
import { loadStaticAssets, STATIC_DIR, type StaticAsset } from "./static-assets.js";
import type { UiSource } from "./ui-source.js";

/** Options of `startUiServer`. */
export interface UiServerOptions {
  /** The store the viewer shows. */
  source: UiSource;
  /**
   * Address to listen on: a host name or IP address without a port (an IPv6 address alone or in
   * brackets). Default: "127.0.0.1" (this machine only: the viewer has no login).
   */
  host?: string;
  /**
   * Other names the viewer is reached by, such as a proxy's (`audit.example.com`) or this machine's
   * DNS name: a request whose Host header names one, alone or with the viewer's port, is answered
   * too. A name may carry its own port (`audit.example.com:8443`). Default: none (only the loopback
   * names, `host` and the address bound, each with the port, and any IP address with the port).
   */
  allowedHosts?: readonly string[];
  /** Port to listen on, 0 for any free one. Default: 4747. */
  port?: number;
  /**
   * Called with each error a request met reading the store (it answers 500), except for requests that
   * `close()` cut. A SQLite file another process holds locked comes as an AuditError "audit store
   * <name>: the database is locked by another process" (SQLite's own error is its `cause`), as the
   * API's answer says it. Default: ignore.
   */
  onError?: (error: Error) => void;
  /** Folder of the page's files. Default: ./static beside this module. */
  staticDir?: string;
}

/** A running viewer. */
export interface UiServer {
  /** Where it listens, such as `http://127.0.0.1:4747/`. */
  readonly url: string;
  /** The port it listens on (the one picked when asked for 0). */
  readonly port: number;
  /** True when the address bound is a loopback one: only this machine can reach the viewer. */
  readonly loopback: boolean;
  /**
   * Stops listening, ends open connections, then the source (`UiSource.close`, such as its counting
   * thread, once the count under way ends), and resolves once closed. It starts no read of the store
   * after it is called (requests waiting for their counts are cut, not counted), and does not wait for
   * other reads still running (a verification reads all of it): they end quietly, their errors
   * unreported, so the store can be closed right after.
   */
  close(): Promise<void>;
}

/** Defaults of UiServerOptions. */
export const UI_SERVER_DEFAULTS: Readonly<{ host: string; port: number }> = Object.freeze({
  host: "127.0.0.1",
  port: 4747,
});

/**
 * Every response's security headers. The page's script and styles come from the viewer itself and no
 * inline script runs, so stored text can never become code; nothing may frame the page (clickjacking).
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Frame-Options": "DENY",
};

/**
 * Starts the read-only web trail viewer: the page (HTML, CSS, JS from ./static) and its JSON API under
 * /api/ (see `handleApi`). It answers GET and HEAD only (405 otherwise). It refuses requests whose Host
 * header names another host (403), so a web page cannot read the trail through a DNS name rebound to
 * its address, and API requests a browser says come from another site (403), so another site's page
 * can neither read its answers nor make it read the store by requests of its own (a navigation to the
 * viewer loads the viewer's page, which reads as the user would). Requests for /api/verify that come
 * while one runs share its report; /api/stats reads its counts one filter at a time, shared by the
 * requests for the same filter, so a stop is not held up by counts queued behind it (see
 * `sharedSource`). Throws an AuditConfigError for a bad option or a port it cannot listen on.
 *
 * ```ts
 * const viewer = await startUiServer({ source, port: 0 });
 * console.log(`open ${viewer.url}`);
 * ```
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const port = options.port ?? UI_SERVER_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AuditConfigError("web viewer: `port` must be an integer from 0 to 65535");
  }
  const host = listenHost(options.host ?? UI_SERVER_DEFAULTS.host);
  if (options.allowedHosts !== undefined && !Array.isArray(options.allowedHosts))
    throw new AuditConfigError("web viewer: `allowedHosts` must be an array of host names");
  const extraHosts = (options.allowedHosts ?? []).map(allowedHostName);
  const assets = loadStaticAssets(options.staticDir ?? STATIC_DIR);
  let isOwnHost: (header: string) => boolean = () => false;
  let closing = false;
  const source = sharedSource(options.source, () => closing);
  const server = createServer((request, response) => {
    respond(request, response).catch((error: unknown) => response.destroy(toError(error)));
  });
  const respond = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    if (!isOwnHost((request.headers.host ?? "").toLowerCase())) {
      return sendJson(response, 403, {
        error: "this viewer answers only requests addressed to its own host",
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("Allow", "GET, HEAD");
      return sendJson(response, 405, { error: "the viewer is read-only: use GET" });
    }
    const url = requestUrl(request);
    if (url === undefined) {
      return sendJson(response, 400, { error: "the request's target is not a valid URL" });
    }
    if (url.pathname.startsWith("/api/")) {
      if (fromElsewhere(request)) {
        return sendJson(response, 403, {
          error: "the viewer's API answers only the viewer's own page, not a request from another site",
        });
      }
      return answerApi(response, url);
    }
    const asset = assets.get(url.pathname);
    if (asset === undefined) return sendJson(response, 404, { error: `nothing at ${url.pathname}` });
    sendAsset(response, asset);
  };
  const answerApi = async (response: ServerResponse, url: URL): Promise<void> => {
    try {
      const answer = await handleApi(source, url.pathname, url.searchParams);
      sendJson(response, answer.status, answer.body);
    } catch (error) {
      // Cut by close(): its connection is gone and the store may be closed under its read. Nobody is
      // left to answer, and it is no fault of the store.
      if (closing) return;
      if (error instanceof UiHttpError) return sendJson(response, error.status, { error: error.message });
      // The store's own check of a filter or cursor: the request's fault, not the store's.
      if (error instanceof AuditInputError) return sendJson(response, 400, { error: error.message });
      const cause = readError(error, source.name);
      // A failing error callback must not take the response down with it.
      callHook(options.onError?.bind(options), cause);
      sendJson(response, 500, { error: `cannot read the store: ${cause.message}` });
    }
  };
  server.listen(port, host);
  try {
    await Promise.race([
      once(server, "listening"),
      once(server, "error").then(([error]) => Promise.reject(error)),
    ]);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new AuditConfigError(
      `web viewer: cannot listen on ${host} port ${port} (${String(code ?? error)})`,
      {
        cause: error,
      },
    );
  }
  const { port: bound, address } = server.address() as AddressInfo;
  const hostInUrl = host.includes(":") ? `[${host}]` : host;
  isOwnHost = ownHostCheck([host, address, ...LOOPBACK_NAMES], extraHosts, bound);
  return {
    url: `http://${hostInUrl}:${bound}/`,
    port: bound,
    // The address bound, not the name given: "127.1" or a name of this machine's may be loopback too.
    loopback: isLoopback(address),
    close: async () => {
      closing = true;
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      await closed;
      await options.source.close?.();
    },
  };
}

/**
 * The error a read of the store met, as onError and the API's answer give it. SQLite's lock errors
 * (SQLITE_BUSY, SQLITE_LOCKED and their extended codes) say only "database is locked": they name the
 * store and say why, in the words of the store's open error and of `grpc-audit ui`.
 */
function readError(error: unknown, store: string): Error {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^SQLITE_(?:BUSY|LOCKED)(?:_|$)/.test(code)) {
    return new AuditError(`audit store ${store}: the database is locked by another process`, {
      cause: error,
    });
  }
  return toError(error);
}

/** True for addresses only this machine can reach: localhost, 127.0.0.0/8, ::1 in any of their forms. */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === "localhost") return true;
  return isIP(host) !== 0 && LOOPBACK.check(host, isIPv6(host) ? "ipv6" : "ipv4");
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4"); // checked for IPv4-mapped IPv6 addresses too
LOOPBACK.addAddress("::1", "ipv6");

/** The names this machine calls itself by, answered on any bind (one on 0.0.0.0 answers them too). */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];

/**
 * Whether a (lowercased) Host header names the viewer: one of `names` (its host, the address bound,
 * the loopback names) or any IP address, each with the port (or without it on port 80, where a browser
 * leaves it out), or one of `extra` (`--allowed-host`) as given or with the port. Any other Host is a
 * DNS-rebinding page's; an IP address is none, as a page's origin then is the viewer's own.
 * @internal
 */
export function ownHostCheck(
  names: readonly string[],
  extra: readonly string[],
  port: number,
): (header: string) => boolean {
  const withPort = (name: string) => [`${name}:${port}`, ...(port === 80 ? [name] : [])];
  const allowed = new Set([
    ...names.flatMap((name) => withPort(inHost(name.toLowerCase()))),
    ...extra.flatMap((name) => [name, ...(/:\d+$/.test(name) ? [] : [`${name}:${port}`])]),
  ]);
  return (header) => {
    if (allowed.has(header)) return true;
    const ip = /^(?:\[([0-9a-f:.]+)\]|([0-9.]+))(?::(\d+))?$/.exec(header);
    if (ip === null || isIP(ip[1] ?? ip[2] ?? "") === 0) return false;
    return ip[3] === undefined ? port === 80 : Number(ip[3]) === port;
  };
}

/** An IPv6 address as a Host header writes it: in brackets. */
function inHost(name: string): string {
  return isIPv6(name) ? `[${name}]` : name;
}

/**
 * The `host` option as listen takes it (an IPv6 address without the brackets a URL writes around
 * it); throws naming it when `isHost` refuses it, so that "a b" or "999.1.1.1" is a bad option, not a
 * failed listen.
 */
function listenHost(host: unknown): string {
  if (typeof host !== "string" || !isHost(host)) {
    throw new AuditConfigError(
      `web viewer: \`host\` is ${shown(host)}: use a host name or IP address, without a port (give it as \`port\`)`,
    );
  }
  return /^\[(.*)\]$/.exec(host)?.[1] ?? host;
}

/** One `allowedHosts` entry, lowercased as Host headers are compared; throws naming it when it is none. */
function allowedHostName(name: unknown): string {
  if (typeof name !== "string" || !isHostName(name)) {
    throw new AuditConfigError(
      `web viewer: \`allowedHosts\` has ${JSON.stringify(name)}: use a host name or address, with an optional :port`,
    );
  }
  return inHost(name.toLowerCase());
}

/**
 * True for a host name or IP address, with an optional :port (an IPv6 address in brackets then), as
 * `allowedHosts` takes them.
 * @internal
 */
export function isHostName(text: string): boolean {
  return isIPv6(text) || isHost(text.replace(/:\d{1,5}$/, ""));
}

/**
 * True for a host without a port: a name, an IPv4 address, or an IPv6 address, alone or in brackets
 * as a URL writes it. A name that ends in a number must be an IPv4 address: "999.1.1.1" is none.
 * @internal
 */
export function isHost(text: string): boolean {
  const bracketed = /^\[(.*)\]$/.exec(text)?.[1];
  if (bracketed !== undefined) return isIPv6(bracketed);
  if (isIPv6(text)) return true;
  // The URL parser reads a name that ends in a number as an IPv4 address, as browsers and getaddrinfo
  // do ("127.1" is 127.0.0.1), and refuses one that is none.
  return /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?$/i.test(text) && URL.canParse(`http://${text}/`);
}

/**
 * True for a request a browser sent from another page than the viewer's: `Sec-Fetch-Site` says
 * `cross-site` or `same-site` (another port of localhost is the same site), or `Origin` names another
 * origin than the Host the request was sent to. Requests without them (curl, a typed address) pass.
 */
function fromElsewhere(request: IncomingMessage): boolean {
  const site = request.headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  const host = (request.headers.host ?? "").toLowerCase();
  return origin.toLowerCase() !== `http://${host}` && origin.toLowerCase() !== `https://${host}`;
}

/**
 * The request's target as a URL, or undefined when it is none: Node's HTTP parser lets through targets
 * (such as `http://127.0.0.1:99999/`) that the URL parser refuses.
 */
function requestUrl(request: IncomingMessage): URL | undefined {
  try {
    return new URL(request.url ?? "/", "http://viewer.invalid");
  } catch {
    return undefined;
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
  });
  response.end(text);
}

function sendAsset(response: ServerResponse, asset: StaticAsset): void {
  response.writeHead(200, {
    "Content-Type": asset.contentType,
    "Content-Length": asset.body.length,
    "Cache-Control": "no-cache",
  });
  response.end(asset.body);
}
