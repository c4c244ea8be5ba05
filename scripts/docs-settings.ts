// `npm run docs:settings`: rewrites docs/configuration.md's settings table from server/config/settings.ts.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../server/ops/paths.js';
import { DOCS_TABLE, settingsTable } from '../server/config/settings.js';

const file = path.join(PROJECT_ROOT, 'docs', 'configuration.md');
const doc = readFileSync(file, 'utf8');
if (!DOCS_TABLE.test(doc)) throw new Error('docs/configuration.md has lost its <!-- settings: ... --> and <!-- /settings --> lines');
writeFileSync(file, doc.replace(DOCS_TABLE, settingsTable));
