// TorchServe's own metric families as TorchServe writes them: its Prometheus Java client
// (simpleclient 0.9, TextFormat.write004) ends every label with a comma,
// `Requests2XX{Level="Host",Hostname="h",} 12.0`, and writes each value as Java's Double.toString
// writes a double (12.0, 0.001, 1.2345678E7). Prometheus reads this form and the standard one
// alike; TorchServe's own test suites, and scripts copied from them, match this one with regular
// expressions (`Requests2XX\{Level="Host",Hostname=".+",\} \d+\.\d+`). Pure: tested without a registry.

/** One family's samples as a registry reads them at scrape time: prom-client's `get()`. */
export interface FamilySnapshot {
  name: string;
  help: string;
  values: ReadonlyArray<{ labels: Partial<Record<string, string | number>>; value: number }>;
}

/** What TorchServe declares of one of its families: its type, and its labels in its order. */
export interface TorchServeFamily {
  type: 'counter' | 'gauge';
  labelNames: readonly string[];
}

/**
 * A double as Java's Double.toString writes it: plain between 10^-3 and 10^7, with at least one
 * digit after the point; in computerized scientific notation (`1.0E7`, `1.5E-4`) outside; the
 * fewest digits that read back as the same double, which is what JavaScript's own spelling gives.
 * Infinities and NaN as simpleclient's doubleToGoString spells them.
 */
export function javaDouble(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Number.POSITIVE_INFINITY) return '+Inf';
  if (x === Number.NEGATIVE_INFINITY) return '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const magnitude = Math.abs(x);
  // toExponential() with no argument gives the shortest digits that read back as x.
  const [mantissa = '', power = '0'] = magnitude.toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(power);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    return `${sign}${whole}.${digits.slice(exponent + 1) || '0'}`;
  }
  return `${sign}${digits[0]}.${digits.slice(1) || '0'}E${exponent}`;
}

const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabelValue = (s: string) => escapeHelp(s).replace(/"/g, '\\"');

/** The family in TorchServe's text, its labels in TorchServe's order; no newline after the last line. */
export function torchserveFamilyText(family: FamilySnapshot, { type, labelNames }: TorchServeFamily): string {
  const lines = [`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${type}`];
  for (const { labels, value } of family.values) {
    const set = labelNames
      .filter((n) => labels[n] !== undefined)
      .map((n) => `${n}="${escapeLabelValue(String(labels[n]))}",`)
      .join('');
    lines.push(`${family.name}${set ? `{${set}}` : ''} ${javaDouble(value)}`);
  }
  return lines.join('\n');
}
