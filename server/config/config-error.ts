// A setting that cannot be used: the server says which and why in one line, and does not start.

import { SETTING_NAMED } from './settings.js';

export class ConfigError extends Error {}

export function unknownSetting(name: string, origin: string): ConfigError {
  return new ConfigError(`unknown setting "${name}" in ${origin}; known: ${[...SETTING_NAMED.keys()].join(', ')}`);
}
