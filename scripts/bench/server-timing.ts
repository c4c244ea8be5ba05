// Stage durations from many responses' Server-Timing headers, for medians per stage.

import { parseServerTiming } from '../../public/server-timing.js';

/** Collects stage durations from many responses; medians are taken per stage afterwards. */
export class StageCollector {
  readonly samples = new Map<string, number[]>();

  add(header: string | null | undefined): void {
    for (const [stage, dur] of parseServerTiming(header)) {
      const list = this.samples.get(stage) ?? [];
      list.push(dur);
      this.samples.set(stage, list);
    }
  }
}
