// `npm run docs:settings`: rewrites README.md's settings table from server/config/settings.ts.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../server/ops/paths.js';
import { README_TABLE, settingsTable } from '../server/config/settings.js';

const file = path.join(PROJECT_ROOT, 'README.md');
const readme = readFileSync(file, 'utf8');
if (!README_TABLE.test(readme)) throw new Error('README.md has lost its <!-- settings: ... --> and <!-- /settings --> lines');
writeFileSync(file, readme.replace(README_TABLE, settingsTable));
