// Reads a scrape as Prometheus reads the text format (version 0.0.4, its exposition_formats
// document and the expfmt parser): every line a sample, a HELP, a TYPE, another comment or
// blank; a label set may end in a comma; a value is a Go float; the body ends in a newline. What
// Prometheus would refuse throws, naming the line. Tests read whole scrapes with it.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  type: string;
  help: string | null;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
/** The only escapes a label value may hold. */
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n' };
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

/** A value as Go's strconv.ParseFloat reads it, which is what Prometheus uses. */
export function goFloat(text: string): number {
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`"${text}" is not a float`);
  return Number(text);
}

/** `{a="1",b="2",}` at the start of `rest`: the labels, and what follows the closing brace. */
function labelSet(rest: string): { labels: Record<string, string>; after: string } {
  const labels: Record<string, string> = {};
  let s = rest.slice(1).trimStart();
  while (!s.startsWith('}')) {
    const name = LABEL_NAME.exec(s)?.[0];
    if (!name) throw new Error(`a label name was expected at "${s.slice(0, 20)}"`);
    if (Object.hasOwn(labels, name)) throw new Error(`label ${name} twice`);
    s = s.slice(name.length).trimStart();
    if (!s.startsWith('="')) throw new Error(`label ${name} has no ="value"`);
    let value = '';
    let i = 2;
    for (; i < s.length && s[i] !== '"'; i++) {
      if (s[i] !== '\\') {
        value += s[i];
        continue;
      }
      const escaped = ESCAPES[s[++i] ?? ''];
      if (escaped === undefined) throw new Error(`label ${name}: an escape other than \\\\, \\" or \\n`);
      value += escaped;
    }
    if (i >= s.length) throw new Error(`label ${name}: the value is not closed`);
    labels[name] = value;
    s = s.slice(i + 1).trimStart();
    // A comma after every label, the last one's included, or none after the last.
    if (s.startsWith(',')) s = s.slice(1).trimStart();
    else if (!s.startsWith('}')) throw new Error(`"," or "}" was expected after label ${name}`);
  }
  return { labels, after: s.slice(1) };
}

function sampleLine(line: string): Sample {
  const name = METRIC_NAME.exec(line)?.[0];
  if (!name) throw new Error('not a metric name');
  let rest = line.slice(name.length).trimStart();
  let labels: Record<string, string> = {};
  if (rest.startsWith('{')) ({ labels, after: rest } = labelSet(rest));
  const [value, timestamp, ...more] = rest.trim().split(/[ \t]+/);
  if (value === undefined || value === '' || more.length > 0) throw new Error('a value, and at most a timestamp, were expected');
  if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) throw new Error(`"${timestamp}" is not a timestamp`);
  return { name, labels, value: goFloat(value) };
}

/** The families of a scrape, by name, in order; throws where Prometheus would refuse it. */
export function parseExposition(text: string): Map<string, Family> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the last line does not end in a newline');
  const families = new Map<string, Family>();
  const series = new Set<string>();
  const familyOf = (sample: string) => {
    if (families.has(sample)) return sample;
    for (const [name, f] of families) if (SUFFIXES[f.type]?.some((s) => `${name}${s}` === sample)) return name;
    return sample;
  };
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, i) => {
    try {
      if (line.trim() === '') return;
      const meta = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (meta) {
        const [, kind, name = '', rest = ''] = meta;
        if (!METRIC_NAME.test(name) || METRIC_NAME.exec(name)![0] !== name) throw new Error(`"${name}" is not a metric name`);
        const f = families.get(name) ?? { type: 'untyped', help: null, samples: [] };
        if (kind === 'TYPE') {
          if (!TYPES.includes(rest)) throw new Error(`"${rest}" is not a type`);
          if (families.has(name) && (f.samples.length > 0 || f.type !== 'untyped')) throw new Error(`a second TYPE for ${name}, or one after its samples`);
          f.type = rest;
        } else {
          if (f.help !== null) throw new Error(`a second HELP for ${name}`);
          f.help = rest;
        }
        families.set(name, f);
        return;
      }
      if (line.startsWith('#')) return;
      const sample = sampleLine(line);
      const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
      if (series.has(key)) throw new Error(`the series ${key} twice`);
      series.add(key);
      const name = familyOf(sample.name);
      const f = families.get(name) ?? { type: 'untyped', help: null, samples: [] };
      if (f.type === 'histogram' && sample.name.endsWith('_bucket') && !Object.hasOwn(sample.labels, 'le')) throw new Error('a bucket without le');
      f.samples.push(sample);
      families.set(name, f);
    } catch (e) {
      throw new Error(`line ${i + 1} (${line.slice(0, 120)}): ${(e as Error).message}`);
    }
  });
  return families;
}
