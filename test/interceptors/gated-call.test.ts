// GatedCall's holding rules, driven directly: an inner call that records what goes out and a listener
// that records what comes in. The integration tests (authn, authz) cover it over real gRPC; the orders
// of events here (a message arriving while metadata is held, a cancel during a check) are ones grpc-js's
// own transport does not produce on demand.
import { Metadata, type ServerInterceptingCallInterface } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { InboundListener, OutboundStatus } from "../../src/interceptors/forwarding-call.js";
import { GatedCall } from "../../src/interceptors/gated-call.js";

class RecordingInner implements Partial<ServerInterceptingCallInterface> {
  listener: InboundListener | undefined;
  statuses: OutboundStatus[] = [];
  start(listener: InboundListener) {
    this.listener = listener;
  }
  sendStatus(status: OutboundStatus) {
    this.statuses.push(status);
  }
}

/** Holds the events it is told to, and lets the test pass or refuse them. */
class TestGate extends GatedCall {
  holdMetadata = false;
  holdMessages = false;
  heldMetadata: Metadata | undefined;
  heldMessage: unknown;

  protected override receiveMetadata(metadata: Metadata): void {
    if (this.holdMetadata) {
      this.heldMetadata = metadata;
      this.hold();
    } else {
      this.passMetadata(metadata);
    }
  }

  protected override receiveMessage(message: unknown): void {
    if (this.holdMessages) {
      this.heldMessage = message;
      this.hold();
    } else {
      this.passMessage(message);
    }
  }

  letMetadataThrough() {
    this.passMetadata(this.heldMetadata as Metadata);
  }

  letMessageThrough() {
    this.passMessage(this.heldMessage);
  }

  end(details: string) {
    this.refuse({ code: 7, details });
  }
}

function setUp() {
  const inner = new RecordingInner();
  const gate = new TestGate(inner as unknown as ServerInterceptingCallInterface);
  const seen: string[] = [];
  gate.start({
    onReceiveMetadata: (metadata) => seen.push(`metadata ${metadata.get("n")[0]}`),
    onReceiveMessage: (message) => seen.push(`message ${String(message)}`),
    onReceiveHalfClose: () => seen.push("half-close"),
    onCancel: () => seen.push("cancel"),
  });
  const transport = inner.listener as InboundListener;
  const metadata = new Metadata();
  metadata.set("n", "1");
  return { inner, gate, seen, transport, metadata };
}

describe("GatedCall", () => {
  it("passes events on at once while it does not hold", () => {
    const { seen, transport, metadata } = setUp();
    transport.onReceiveMetadata(metadata);
    transport.onReceiveMessage("a");
    transport.onReceiveHalfClose();
    expect(seen).toEqual(["metadata 1", "message a", "half-close"]);
  });

  it("keeps the events that arrive while it holds, and passes them on in order after the held one", () => {
    const { gate, seen, transport, metadata } = setUp();
    gate.holdMetadata = true;
    transport.onReceiveMetadata(metadata);
    transport.onReceiveMessage("a");
    transport.onReceiveMessage("b");
    transport.onReceiveHalfClose();
    expect(seen).toEqual([]);
    gate.letMetadataThrough();
    expect(seen).toEqual(["metadata 1", "message a", "message b", "half-close"]);
  });

  it("holds again when a held event starts a new check, keeping the rest behind it", () => {
    const { gate, seen, transport, metadata } = setUp();
    gate.holdMetadata = true;
    gate.holdMessages = true;
    transport.onReceiveMetadata(metadata);
    transport.onReceiveMessage("a");
    transport.onReceiveHalfClose();
    gate.letMetadataThrough();
    expect(seen).toEqual(["metadata 1"]);
    transport.onReceiveMessage("late");
    gate.holdMessages = false;
    gate.letMessageThrough();
    expect(seen).toEqual(["metadata 1", "message a", "half-close", "message late"]);
  });

  it("passes a cancel at once, drops what it held and lets nothing through afterwards", () => {
    const { gate, seen, transport, metadata } = setUp();
    gate.holdMetadata = true;
    transport.onReceiveMetadata(metadata);
    transport.onReceiveMessage("a");
    transport.onCancel();
    expect(seen).toEqual(["cancel"]);
    gate.letMetadataThrough(); // the check answers after the cancel
    transport.onReceiveHalfClose();
    expect(seen).toEqual(["cancel"]);
  });

  it("ends a refused call with its status, drops its later events, and still passes the cancel", () => {
    const { inner, gate, seen, transport, metadata } = setUp();
    gate.holdMetadata = true;
    transport.onReceiveMetadata(metadata);
    transport.onReceiveMessage("a");
    gate.end("no");
    gate.end("twice");
    transport.onReceiveHalfClose();
    expect(inner.statuses).toEqual([{ code: 7, details: "no", metadata: null }]);
    expect(seen).toEqual([]);
    transport.onCancel();
    expect(seen).toEqual(["cancel"]);
  });

  it("sends no status when the call was cancelled before the refusal", () => {
    const { inner, gate, transport, metadata } = setUp();
    gate.holdMetadata = true;
    transport.onReceiveMetadata(metadata);
    transport.onCancel();
    gate.end("too late");
    expect(inner.statuses).toEqual([]);
  });
});
