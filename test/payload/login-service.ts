/**
 * A one-method service with hand-written rules, as a JavaScript user writes them: JSON on the wire,
 * `/login.v1.Auth/Login` answering every request with `{ ok: true }`, over real gRPC on 127.0.0.1.
 */
import {
  Client,
  credentials,
  Server,
  type ServerInterceptor,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";

export const LOGIN = "/login.v1.Auth/Login";

const serialize = (value: unknown) => Buffer.from(JSON.stringify(value ?? null));
const deserialize = (bytes: Buffer): unknown => JSON.parse(bytes.toString());

/** A plain string field, as the plugin writes one; `more` adds or overrides keys (a JavaScript table's, unchecked). */
export function stringField(
  no: number,
  name: string,
  more: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    no,
    name,
    jsonName: name,
    properties: [name],
    sensitive: false,
    kind: "scalar",
    scalar: "string",
    repeated: false,
    optional: false,
    oneof: undefined,
    ...more,
  };
}

/** message LoginResponse { bool ok = 1; } */
export const LoginResponseShape = {
  typeName: "login.v1.LoginResponse",
  fields: [stringField(1, "ok", { scalar: "bool" })],
};

/** A format-2 rule of Login capturing `payload` by `requestShape`. */
export function loginRule(payload: "digest" | "redacted", requestShape: unknown) {
  return {
    [LOGIN]: {
      method: LOGIN,
      format: 2,
      kind: "unary",
      mutation: "update",
      targetType: "session",
      targetIdField: "",
      recordOnError: false,
      targetId: () => "s1",
      payload,
      requestShape,
      responseShape: LoginResponseShape,
    },
  };
}

/** Starts the service with `interceptors`; `login(request)` makes one call and resolves to its status code. */
export async function startLogin(interceptors: ServerInterceptor[]) {
  const server = new Server({ interceptors });
  server.addService(
    {
      Login: {
        path: LOGIN,
        requestStream: false,
        responseStream: false,
        requestSerialize: serialize,
        requestDeserialize: deserialize,
        responseSerialize: serialize,
        responseDeserialize: deserialize,
      },
    },
    {
      Login: (_call: unknown, callback: (error: null, response: unknown) => void) =>
        callback(null, { ok: true }),
    },
  );
  const client = new Client(`127.0.0.1:${await listenOnLoopback(server)}`, credentials.createInsecure());
  return {
    login: (request: unknown) =>
      new Promise<number>((resolve) =>
        client.makeUnaryRequest(LOGIN, serialize, deserialize, request, (error: ServiceError | null) =>
          resolve(error?.code ?? status.OK),
        ),
      ),
    close: async () => {
      client.close();
      await stopServer(server);
    },
  };
}
