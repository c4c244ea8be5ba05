// Server-Timing parsing: `decode;dur=1.2, infer;dur=30.1` or with `desc="..."` parameters.
// Stages are whatever the server sends, so new ones show up without a change here. Pure: the
// demo page and the benchmarks both read the header with it.

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
