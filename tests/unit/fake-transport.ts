// A DevTools transport the test plays the browser on: it records what is sent and answers,
// emits and closes when the test says.

import type { MessageTransport, ProtocolMessage } from '../../server/devtools/transport.js';

export class FakeTransport implements MessageTransport {
  onmessage?: (message: ProtocolMessage) => void;
  onclose?: (reason: string) => void;
  readonly sent: ProtocolMessage[] = [];
  /** Called for each message sent, after it is recorded: a scripted browser answers here. */
  onsend?: (message: ProtocolMessage) => void;

  send(message: ProtocolMessage): void {
    this.sent.push(message);
    this.onsend?.(message);
  }

  close(): void {
    this.onclose?.('the DevTools connection was closed');
  }

  /** The last message sent whose method is `method`. */
  last(method: string): ProtocolMessage & { id: number; params: Record<string, unknown> } {
    const m = this.sent.findLast((s) => s['method'] === method);
    if (!m) throw new Error(`nothing sent as ${method}`);
    return m as ProtocolMessage & { id: number; params: Record<string, unknown> };
  }

  answer(id: number, result: Record<string, unknown> = {}): void {
    this.onmessage?.({ id, result });
  }

  refuse(id: number, message: string): void {
    this.onmessage?.({ id, error: { code: -32000, message } });
  }

  event(method: string, params: Record<string, unknown>, sessionId?: string): void {
    this.onmessage?.(sessionId ? { method, params, sessionId } : { method, params });
  }
}
