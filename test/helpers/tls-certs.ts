/**
 * A test CA and the certificates it signs, made with Debian's `openssl` into a fresh temporary folder:
 * a server certificate for 127.0.0.1 and localhost, and a client certificate (CN "ingest-client") for
 * mutual TLS. Each call makes new keys, so no key is ever checked in.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "./prerequisites.js";

/** PEM files of a test CA, a server and a client certificate. */
export interface TestCertificates {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** The client certificate's common name. */
  readonly clientName: string;
}

/** Makes a CA and a server and a client certificate signed by it (EC P-256, valid one day). */
export function makeTestCertificates(): TestCertificates {
  const openssl = requireTool("openssl", `${process.env.PATH ?? ""}:/usr/bin`);
  const dir = mkdtempSync(join(tmpdir(), "grpc-audit-tls-"));
  const file = (name: string) => join(dir, name);
  const run = (...args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: "pipe" });
  const key = (name: string) =>
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file(name));

  key("ca.key");
  run(
    "req",
    "-x509",
    "-new",
    "-key",
    file("ca.key"),
    "-subj",
    "/CN=grpc-audit test CA",
    "-days",
    "1",
    "-out",
    file("ca.pem"),
  );
  const sign = (name: string, subject: string, extensions: string) => {
    key(`${name}.key`);
    run("req", "-new", "-key", file(`${name}.key`), "-subj", subject, "-out", file(`${name}.csr`));
    writeFileSync(file(`${name}.ext`), extensions);
    run(
      "x509",
      "-req",
      "-in",
      file(`${name}.csr`),
      "-CA",
      file("ca.pem"),
      "-CAkey",
      file("ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      file(`${name}.ext`),
      "-out",
      file(`${name}.pem`),
    );
  };
  sign("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  const clientName = "ingest-client";
  sign("client", `/CN=${clientName}`, "extendedKeyUsage=clientAuth\n");
  return {
    dir,
    caCert: file("ca.pem"),
    serverCert: file("server.pem"),
    serverKey: file("server.key"),
    clientCert: file("client.pem"),
    clientKey: file("client.key"),
    clientName,
  };
}
