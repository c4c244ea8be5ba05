/**
 * Work that runs one piece at a time, in the order it was given; a piece that fails ends only
 * itself. The page's runs take turns on one (model-runner.ts), its loads on another (main.ts).
 */
export class Turns {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` once every piece given before it has ended; answers `work`'s own outcome. */
  take<T>(work: () => T | Promise<T>): Promise<T> {
    const next = this.tail.then(work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
