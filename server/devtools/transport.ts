// What the connection needs of a transport: whole protocol messages each way, and one close.
// The pipe to Chromium is one (pipe-transport.ts); the unit tests use a scripted one.

/** A protocol message as decoded: binary values are `Uint8Array`s. */
export type ProtocolMessage = Record<string, unknown>;

export interface MessageTransport {
  send(message: ProtocolMessage): void;
  /** Set by the connection; called once per message from the browser. */
  onmessage?: (message: ProtocolMessage) => void;
  /** Set by the connection; called once, when the transport is gone, with why where known. */
  onclose?: (reason: string) => void;
  close(): void;
}
