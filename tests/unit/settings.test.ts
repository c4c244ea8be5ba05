// The settings table is the one description of every setting: docs/configuration.md's copy must match it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { DOCS_TABLE, namesOf, ROWS, SETTING_NAMED, settingsTable } from '../../server/config/settings.js';

describe('the settings table', () => {
  it("is what docs/configuration.md's settings table says (npm run docs:settings writes it)", () => {
    const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'configuration.md'), 'utf8');
    assert.equal(DOCS_TABLE.exec(doc)?.[0], settingsTable(), "docs/configuration.md's settings table is out of date: npm run docs:settings");
  });

  it('says what an unset setting means wherever the default is unset', () => {
    for (const [name, s] of ROWS) assert.ok(s.default !== '' || s.unset, name);
  });

  it('gives no two settings the same name or alias', () => {
    assert.equal(SETTING_NAMED.size, ROWS.flatMap(([name]) => namesOf(name)).length);
  });
});
