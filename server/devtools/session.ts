// One DevTools session: the browser's own (no sessionId) or one target's, attached in flatten
// mode so its messages share the one pipe under its sessionId. Calls go through the connection,
// which holds the one id space and the one table of pending calls; a session only routes its
// events and says whether its target is still there.

import type { Deadline } from '../ops/deadline.js';
import type { DevToolsErrorKind } from './protocol-error.js';

type Listener = (params: Record<string, unknown>) => void;

export interface CallSender {
  call(session: DevToolsSession, method: string, params: Record<string, unknown>, deadline?: Deadline): Promise<Record<string, unknown>>;
}

export class DevToolsSession {
  /** Why it ended (`closed` or `crashed`, and the reason), or null while it lives. */
  ended: { kind: DevToolsErrorKind; reason: string } | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly endListeners = new Set<(kind: DevToolsErrorKind, reason: string) => void>();

  constructor(
    private readonly sender: CallSender,
    /** Empty for the browser's own session. */
    readonly id: string,
  ) {}

  /**
   * Calls `method`; answers its result. Fails with a DevToolsError of the kind that ended it
   * (connection.ts); `deadline` overrides the connection's default.
   */
  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}, deadline?: Deadline): Promise<T> {
    return this.sender.call(this, method, params, deadline) as Promise<T>;
  }

  on(event: string, listener: Listener): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Called once when the session ends (at once if it has): its target detached, crashed, or the connection closed. */
  onEnd(listener: (kind: DevToolsErrorKind, reason: string) => void): void {
    if (this.ended) listener(this.ended.kind, this.ended.reason);
    else this.endListeners.add(listener);
  }

  /** The connection's: an event for this session. */
  emit(event: string, params: Record<string, unknown>): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) l(params);
  }

  /** The connection's: the session is over; its pending calls are rejected there. */
  end(kind: DevToolsErrorKind, reason: string): void {
    if (this.ended) return;
    this.ended = { kind, reason };
    for (const l of [...this.endListeners]) l(kind, reason);
    this.endListeners.clear();
  }
}
