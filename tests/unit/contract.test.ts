// The contract suite (tests/support/contract.ts) against the fake engine: fast, every operation.
import { contractSettings, contractSuite } from '../support/contract.js';
import { FakeEngine } from '../support/fake-engine.js';
import { startTestServer } from '../support/server-harness.js';

contractSuite('fake engine', () => startTestServer(contractSettings, new FakeEngine()));
