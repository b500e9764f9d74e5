// The quickstart's client: alice, bob and a caller without a token. README.md shows this file.
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { SignJWT } from "jose";
import { NoteServiceClient } from "./gen/notes/v1/notes.js";

/** Makes four calls to the server on `port`; returns how each ended, such as "alice CreateNote: OK". */
export async function runClient(port: number, jwtSecret: Uint8Array): Promise<string[]> {
  const client = new NoteServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const alice = await bearer("alice", jwtSecret);
  const bob = await bearer("bob", jwtSecret);
  try {
    return [
      await attempt("alice CreateNote", (done) => client.createNote({ text: "buy milk" }, alice, done)),
      await attempt("bob DeleteNote n-1", (done) => client.deleteNote({ id: "n-1" }, bob, done)),
      await attempt("no token DeleteNote n-1", (done) => client.deleteNote({ id: "n-1" }, done)),
      await attempt("alice DeleteNote n-1", (done) => client.deleteNote({ id: "n-1" }, alice, done)),
    ];
  } finally {
    client.close();
  }
}

/** Metadata with a token for `user`, as an identity provider would issue it. */
async function bearer(user: string, jwtSecret: Uint8Array): Promise<Metadata> {
  const token = await new SignJWT()
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user)
    .setIssuer("https://id.example.com/")
    .setAudience("notes-api")
    .setExpirationTime("5m")
    .sign(jwtSecret);
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

/** Runs one call; "<label>: <status name>". */
function attempt(
  label: string,
  start: (done: (error: ServiceError | null) => void) => void,
): Promise<string> {
  return new Promise((resolve) =>
    start((error) => resolve(`${label}: ${error ? status[error.code] : "OK"}`)),
  );
}
