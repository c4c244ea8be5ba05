// The DevTools connection: one id space and one table of pending calls for every session on the
// transport, events routed to their session by sessionId (flatten mode), and a deadline on every
// call. When the transport closes, every pending call fails at once as `closed`; when a target
// detaches or crashes, those of its session fail as `closed` or `crashed`.

import { systemClock, type Clock } from '../ops/clock.js';
import { Deadline, seconds } from '../ops/deadline.js';
import { DevToolsError, type DevToolsErrorKind } from './protocol-error.js';
import { type CallSender, DevToolsSession } from './session.js';
import type { MessageTransport, ProtocolMessage } from './transport.js';

interface Pending {
  session: DevToolsSession;
  method: string;
  /** Made when the call was sent, so its stack points at the caller. */
  error: DevToolsError;
  resolve(result: Record<string, unknown>): void;
  reject(e: DevToolsError): void;
  timer: unknown;
}

export class DevToolsConnection implements CallSender {
  /** The browser's own session: Target.*, Browser.*. */
  readonly browser: DevToolsSession;
  /** Why the connection closed, or null while it is open. */
  closedReason: string | null = null;
  private readonly sessions = new Map<string, DevToolsSession>();
  private readonly pending = new Map<number, Pending>();
  private lastId = 0;
  private readonly closeListeners = new Set<(reason: string) => void>();

  constructor(
    private readonly transport: MessageTransport,
    /** For calls that name no deadline of their own: each gets one this long from when it is sent. */
    private readonly defaultTimeout: { ms: number; setting: string },
    private readonly clock: Clock = systemClock,
  ) {
    this.browser = new DevToolsSession(this, '');
    this.sessions.set('', this.browser);
    transport.onmessage = (m) => this.dispatch(m);
    transport.onclose = (reason) => this.closed(reason);
  }

  get open(): boolean {
    return this.closedReason === null;
  }

  call(
    session: DevToolsSession,
    method: string,
    params: Record<string, unknown>,
    deadline = Deadline.after(this.defaultTimeout.ms, this.defaultTimeout.setting, this.clock),
  ): Promise<Record<string, unknown>> {
    const error = new DevToolsError(method);
    if (this.closedReason !== null) return Promise.reject(error.settle('closed', `${method}: ${this.closedReason}`));
    if (session.ended) return Promise.reject(error.settle(session.ended.kind, `${method}: ${session.ended.reason}`));
    // int32 ids: Chromium reads no wider.
    this.lastId = this.lastId >= 0x7fffffff ? 1 : this.lastId + 1;
    const id = this.lastId;
    const ms = deadline.remainingMs();
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(id);
        reject(error.settle('timeout', `${method} took longer than ${seconds(ms)} s (raise ${deadline.setting} to allow more)`));
      }, ms);
      this.pending.set(id, { session, method, error, resolve, reject, timer });
      this.transport.send(session.id ? { id, method, params, sessionId: session.id } : { id, method, params });
    });
  }

  /** Attaches to a target in flatten mode and answers its session. */
  async attach(targetId: string): Promise<DevToolsSession> {
    const { sessionId } = await this.browser.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    // Target.attachedToTarget, which made the session, comes before the answer.
    const session = this.sessions.get(sessionId);
    if (!session) throw new DevToolsError('Target.attachToTarget').settle('closed', `target ${targetId} detached as it was attached`);
    return session;
  }

  /** Calls `listener` once when the connection closes (at once if it has); what it returns removes it. */
  onClose(listener: (reason: string) => void): () => void {
    if (this.closedReason !== null) listener(this.closedReason);
    else this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    this.transport.close();
  }

  private dispatch(m: ProtocolMessage): void {
    if (typeof m['id'] === 'number') return this.answered(m['id'], m);
    const method = m['method'];
    if (typeof method !== 'string') return;
    const params = (m['params'] ?? {}) as Record<string, unknown>;
    const session = this.sessions.get(typeof m['sessionId'] === 'string' ? m['sessionId'] : '');
    if (method === 'Target.attachedToTarget') {
      const id = params['sessionId'] as string;
      this.sessions.set(id, new DevToolsSession(this, id));
    }
    session?.emit(method, params);
    if (method === 'Target.detachedFromTarget') {
      const detached = this.sessions.get(params['sessionId'] as string);
      if (detached) this.endSession(detached, 'closed', 'the page closed');
    } else if (method === 'Inspector.targetCrashed' && session) {
      this.endSession(session, 'crashed', 'the page crashed');
    }
  }

  private answered(id: number, m: ProtocolMessage): void {
    const p = this.pending.get(id);
    if (!p) return; // past its deadline: its caller has its answer already
    this.pending.delete(id);
    this.clock.clearTimeout(p.timer);
    const error = m['error'] as { message?: string; data?: string } | undefined;
    if (error) p.reject(p.error.settle('protocol', `${p.method}: ${error.message ?? 'failed'}${error.data ? ` (${error.data})` : ''}`));
    else p.resolve((m['result'] ?? {}) as Record<string, unknown>);
  }

  private endSession(session: DevToolsSession, kind: DevToolsErrorKind, reason: string): void {
    if (session !== this.browser) this.sessions.delete(session.id);
    this.rejectWhere((p) => p.session === session, kind, reason);
    session.end(kind, reason);
  }

  private closed(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    // The browser's end first: what listens for it knows more than each session can.
    for (const l of this.closeListeners) l(reason);
    this.closeListeners.clear();
    this.rejectWhere(() => true, 'closed', reason);
    for (const s of this.sessions.values()) s.end('closed', reason);
    this.sessions.clear();
  }

  private rejectWhere(which: (p: Pending) => boolean, kind: DevToolsErrorKind, reason: string): void {
    for (const [id, p] of this.pending) {
      if (!which(p)) continue;
      this.pending.delete(id);
      this.clock.clearTimeout(p.timer);
      p.reject(p.error.settle(kind, `${p.method}: ${reason}`));
    }
  }
}
