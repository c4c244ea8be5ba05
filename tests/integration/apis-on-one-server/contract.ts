// The contract suite (tests/support/contract.ts) through the real Chromium engine: the same
// calls and checks as against the fake engine, with the real pages answering. `spare` is in the
// store and not loaded: the suite registers it and takes it away again.
import { contractSuite } from '../../support/contract.js';
import type { ServerSource } from '../../support/shared-server.js';

export const contractOnChromium = (shared: ServerSource) => contractSuite('Chromium', shared, 'spare');
