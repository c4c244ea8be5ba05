// Where settings come from, each as `{name: text}`: TorchServe's config.properties file, the
// command line, and TS_* environment variables. config.ts resolves them into one configuration.

import { parseArgs as tokenize } from 'node:util';
import { ConfigError, unknownSetting } from './config-error.js';
import { envOf, flagOf, ROWS, SETTING_NAMED, SETTINGS } from './settings.js';

/** `key=value` lines, `#` comments: the format of TorchServe's config.properties. */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const eq = line.search(/[=:]/);
    if (eq <= 0) throw new ConfigError(`config line ${n + 1}: expected key=value, got "${line}"`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

const CONFIG_FILE_FLAGS = ['ts-config', 'config'];
const FLAGS = Object.fromEntries([...CONFIG_FILE_FLAGS, ...[...SETTING_NAMED.keys()].map((n) => flagOf(n).slice(2))].map((f) => [f, { type: 'string' as const }]));
const SWITCHES = new Set([...SETTING_NAMED].filter(([, name]) => SETTINGS[name].type === 'boolean').map(([n]) => flagOf(n)));

/** `--model-store x`, `--model-store=x` to `{model_store: 'x'}`; `--ts-config` names the file. */
export function parseArgs(argv: readonly string[]): { values: Record<string, string>; configFile: string | null } {
  const words = argv.map((word, i) => {
    const w = word.replace(/^--[^=]*/, (flag) => flag.replaceAll('_', '-'));
    const next = argv[i + 1];
    // A true/false flag alone (the next word is another flag, or none) means true.
    return SWITCHES.has(w) && (next === undefined || next.startsWith('--')) ? `${w}=true` : w;
  });
  // Not strict: its checks are made here instead, so that a value may start with one dash
  // (--parity-tolerance -1 is refused for its value, not its form) and each refusal names the setting.
  const { tokens } = tokenize({ args: words, options: FLAGS, strict: false, tokens: true });
  const values: Record<string, string> = {};
  let configFile: string | null = null;
  for (const t of tokens) {
    if (t.kind !== 'option' || !t.rawName.startsWith('--')) throw new ConfigError(`unexpected argument "${argv[t.index]}"`);
    const name = t.name.replaceAll('-', '_');
    if (!Object.hasOwn(FLAGS, t.name)) throw unknownSetting(name, 'the command line');
    if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) throw new ConfigError(`--${t.name} needs a value`);
    if (CONFIG_FILE_FLAGS.includes(t.name)) configFile = t.value;
    else values[name] = t.value;
  }
  return { values, configFile };
}

/** TS_<NAME> for each name of each setting (its own name over its aliases), then any other variable it reads. */
export function fromEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, s] of ROWS) {
    for (const n of [...(s.aliases ?? []), name]) if (env[envOf(n)] !== undefined) out[n] = env[envOf(n)]!;
    const other = s.env && env[s.env];
    if (other && !out[name]) out[name] = other;
  }
  return out;
}
