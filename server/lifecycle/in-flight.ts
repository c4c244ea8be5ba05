// The predictions being served, counted so that a shutdown can wait for them to finish.

export class InFlight {
  private n = 0;
  private drained: (() => void) | null = null;

  get count(): number {
    return this.n;
  }

  /** One more prediction in flight; the function returned says it is over. */
  track = (): (() => void) => {
    this.n++;
    return () => {
      if (--this.n === 0) this.drained?.();
    };
  };

  /** Resolves when none is in flight any more, or after `timeoutMs` whatever is left. */
  settled(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.n === 0) return resolve();
      this.drained = resolve;
      setTimeout(resolve, timeoutMs).unref();
    });
  }
}
