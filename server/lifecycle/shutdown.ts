// A graceful shutdown, in order: readiness fails at once (`leaving`), so that a balancer stops
// sending work; new predictions are still served for shutdown_delay, the time it needs to notice;
// then new requests get 503 (`closing`) and open gRPC streams end once their answers are sent;
// the predictions in flight finish, up to the response timeout; then the listeners, the gRPC
// listeners, Chromium and the decode processes close, and last the asset server the pages load from.

import type { Server } from '../http/listen.js';
import { log } from '../ops/log.js';
import type { Timeouts } from '../config/server-config.js';
import { InFlight } from './in-flight.js';

interface Closable {
  close(): Promise<unknown>;
}

/** What a shutdown closes. */
export interface ClosingParts {
  /** The HTTP and HTTPS listeners: open connections are closed, not waited for. */
  listeners: readonly Server[];
  grpc: { leave(): void; close(graceMs: number): Promise<void> } | null;
  engine: Closable;
  decodes: Closable;
  /** The asset server the pages load from; null with an engine given. */
  assets: Closable | null;
}

export class Shutdown {
  private leavingNow = false;
  private closingNow = false;
  readonly inFlight = new InFlight();
  private readonly closingListeners = new Set<() => void>();

  constructor(private readonly timeouts: Timeouts) {}

  /** Readiness fails from now on. */
  get leaving(): boolean {
    return this.leavingNow;
  }

  /** New requests are refused from now on. */
  get closing(): boolean {
    return this.closingNow;
  }

  /** Told when new requests start being refused: open gRPC streams end once their answers are sent. */
  onClosing = (listener: () => void): (() => boolean) => {
    this.closingListeners.add(listener);
    return () => this.closingListeners.delete(listener);
  };

  async close(parts: ClosingParts): Promise<void> {
    this.leavingNow = true;
    // The gRPC health service says NOT_SERVING from now on.
    parts.grpc?.leave();
    const { shutdownDelay, defaultResponseTimeout } = this.timeouts;
    if (shutdownDelay > 0) {
      log.info(`not ready; serving on for shutdown_delay (${shutdownDelay} s) before the drain`);
      await new Promise((r) => setTimeout(r, shutdownDelay * 1000));
    }
    this.closingNow = true;
    for (const listener of this.closingListeners) listener();
    if (this.inFlight.count > 0) {
      log.info(`waiting for ${this.inFlight.count} prediction(s) in flight`);
      await this.inFlight.settled(defaultResponseTimeout * 1000);
    }
    const stopped = parts.listeners.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const s of parts.listeners) s.closeAllConnections();
    await Promise.all([...stopped, parts.grpc?.close(1000), parts.engine.close(), parts.decodes.close()]);
    await parts.assets?.close();
  }
}
