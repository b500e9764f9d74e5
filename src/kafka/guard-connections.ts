import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { Base, type Connection, type CreationEvent, instancesChannel } from "@platformatic/kafka";

/** Instance ids of the open clients whose connections are guarded. */
const owners = new Set<number>();

/** Gives each new connection of a guarded client an 'error' listener it keeps. */
function onCreated(message: unknown): void {
  const { type, instance } = message as CreationEvent<Connection>;
  if (type === "connection" && instance.ownerId !== undefined && owners.has(instance.ownerId))
    instance.on("error", ignore);
}

/** The failure already reached the request or connect that waited on the connection, as its rejection. */
function ignore(): void {}

/**
 * Keeps the connections of a `@platformatic/kafka` (1.x) client from ending the process; returns the
 * client. A Connection whose broker resets it while its SASL handshake waits emits 'error' twice (the
 * socket's error, then the handshake that fails as the socket closes), and its only 'error' listeners
 * are `once` ones the first takes: Node throws the second, which no caller can catch. Connections are
 * seen as they are made, through the client's `instances` diagnostics channel. Anything not built by
 * the client (a fake of a test) is returned as it is.
 */
export function guardConnections<T>(client: T): T {
  if (!(client instanceof Base)) return client;
  const id = client.instanceId;
  if (owners.size === 0) subscribe(instancesChannel.name, onCreated);
  owners.add(id);
  client.once("client:close", () => releaseConnections(client));
  return client;
}

/**
 * Stops guarding the connections `client` makes from now on (those made keep their listener): called
 * once its close settled, as a client whose close failed (a group it could not leave) never emits
 * `client:close`. The channel is let go with the last client guarded.
 */
export function releaseConnections(client: unknown): void {
  if (!(client instanceof Base)) return;
  if (owners.delete(client.instanceId) && owners.size === 0) unsubscribe(instancesChannel.name, onCreated);
}
