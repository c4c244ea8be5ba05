// The Management API's query string as the management operations' parameters: TorchServe's
// lenient reading, where a value in a form it ignores is absent.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { listQuery, querySpelling, registerQuery, scaleQuery } from '../../server/http/management-query.js';

describe('management query parameters', () => {
  it('reads integers, decimals where the bound allows them, and true or false in any case', () => {
    assert.deepEqual(
      registerQuery({
        url: 'm',
        model_name: 'm',
        runtime: 'python',
        batch_size: '4',
        max_batch_delay: '2.5',
        initial_workers: '0',
        response_timeout: '1.5',
        startup_timeout: '30',
        synchronous: 'FALSE',
      }),
      {
        url: 'm',
        modelName: 'm',
        runtime: 'python',
        batchSize: 4,
        maxBatchDelayMs: 2.5,
        initialWorkers: 0,
        responseTimeout: 1.5,
        startupTimeout: 30,
        synchronous: false,
      },
    );
  });

  it('leaves out what is empty, repeated, not a number or not a boolean', () => {
    const p = registerQuery({ url: ['a', 'b'], batch_size: '2.5', max_batch_delay: '1e3', initial_workers: '', response_timeout: 'x', startup_timeout: '1.5', synchronous: 'yes' });
    assert.deepEqual(Object.values(p), Array(9).fill(undefined));
    assert.deepEqual(listQuery({ limit: 'x', next_page_token: '-3' }), { limit: undefined, nextPageToken: -3 });
    assert.deepEqual(scaleQuery({ min_worker: '-1', max_worker: '', synchronous: 'true' }), { minWorker: -1, maxWorker: undefined, synchronous: true });
  });

  it("keeps negative numbers for the operations, but for startup_timeout=-1, TorchServe's own default", () => {
    assert.deepEqual(
      Object.values(registerQuery({ initial_workers: '-1', batch_size: '-1', startup_timeout: '-1' })).filter((v) => v !== undefined),
      [-1, -1],
    );
    assert.equal(registerQuery({ startup_timeout: '-1' }).startupTimeout, undefined);
    assert.equal(registerQuery({ startup_timeout: '0' }).startupTimeout, 0);
    assert.equal(registerQuery({ startup_timeout: '-5' }).startupTimeout, -5);
  });

  it('quotes a refused number as the query wrote it', () => {
    assert.equal(querySpelling({ batch_size: '0065' })('batch_size', 65), '0065');
  });
});
