// The contract suite (tests/support/contract.ts) through the real Chromium engine: the same
// calls and checks as against the fake engine, with the real pages answering.
import { contractSettings, contractSuite } from '../support/contract.js';
import { startTestServer } from '../support/server-harness.js';

contractSuite('Chromium', () => startTestServer({ ...contractSettings, backend: 'wasm' }));
