// The contract suite (tests/support/contract.ts) against the fake engine: fast, every operation.
import { after } from 'node:test';
import { contractSettings, contractSuite } from '../support/contract.js';
import { FakeEngine } from '../support/fake-engine.js';
import { startTestServer } from '../support/server-harness.js';
import { startOnce } from '../support/shared-server.js';

const server = startOnce(() => startTestServer(contractSettings, new FakeEngine()));
after(() => server.close());
contractSuite('fake engine', server.get);
