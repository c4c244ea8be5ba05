// Server-Timing parsing: `decode;dur=1.2, infer;dur=30.1` or with `desc="..."` parameters.
// Stages are whatever the server sends, so new ones (queue, batch) show up without a change here.

export function parseServerTiming(header: string | null | undefined): Map<string, number> {
  const stages = new Map<string, number>();
  if (!header) return stages;
  for (const entry of header.split(',')) {
    const [name, ...params] = entry.trim().split(';');
    if (!name) continue;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k?.trim() === 'dur' && v !== undefined && Number.isFinite(Number(v))) stages.set(name.trim(), Number(v));
    }
  }
  return stages;
}

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
