// The server's lifecycle without a browser: predictions in flight, readiness and its log lines,
// the order of a shutdown, and the engine's options from the settings.

import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { resolveConfig } from '../../server/config/config.js';
import { chromiumEngineOptions, engineEvents } from '../../server/lifecycle/engine-options.js';
import { InFlight } from '../../server/lifecycle/in-flight.js';
import { readinessCheck } from '../../server/lifecycle/readiness.js';
import { Shutdown } from '../../server/lifecycle/shutdown.js';
import { log } from '../../server/ops/log.js';
import type { Metrics } from '../../server/ops/metrics.js';

afterEach(() => mock.restoreAll());

describe('predictions in flight', () => {
  it('settles at once with none, and when the last one ends', async () => {
    const inFlight = new InFlight();
    await inFlight.settled(3_600_000);
    const first = inFlight.track();
    const second = inFlight.track();
    assert.equal(inFlight.count, 2);
    let settled = false;
    const waiting = inFlight.settled(3_600_000).then(() => {
      settled = true;
    });
    first();
    await Promise.resolve();
    assert.equal(settled, false, 'one is still in flight');
    second();
    await waiting;
    assert.equal(inFlight.count, 0);
  });
});

describe('readiness', () => {
  const inputs = () => {
    const state = { leaving: false, healthy: true, admission: null as string | null, decodes: null as string | null, arriving: 0, askedWith: [] as number[] };
    const check = readinessCheck({
      leaving: () => state.leaving,
      engine: { healthy: () => state.healthy },
      admission: {
        blocked: (arriving = 0) => {
          state.askedWith.push(arriving);
          return state.admission;
        },
      },
      uploads: {
        get bytesArriving() {
          return state.arriving;
        },
      },
      decodes: { blocked: () => state.decodes },
    });
    return { state, check };
  };

  it('fails while leaving or while the engine is unhealthy, and logs nothing for them', () => {
    const warn = mock.method(log, 'warn', () => {});
    const { state, check } = inputs();
    assert.equal(check(), true);
    state.healthy = false;
    assert.equal(check(), false);
    state.healthy = true;
    state.leaving = true;
    assert.equal(check(), false);
    assert.equal(warn.mock.callCount(), 0);
  });

  it('logs the start and the end of an overload once each', () => {
    const warn = mock.method(log, 'warn', () => {});
    const info = mock.method(log, 'info', () => {});
    const { state, check } = inputs();
    state.decodes = 'every decode slot is busy';
    assert.equal(check(), false);
    assert.equal(check(), false);
    state.decodes = null;
    assert.equal(check(), true);
    assert.equal(check(), true);
    assert.deepEqual(
      warn.mock.calls.map((c) => c.arguments[0]),
      ['not ready: every decode slot is busy'],
    );
    assert.deepEqual(
      info.mock.calls.map((c) => c.arguments[0]),
      ['ready again'],
    );
  });

  it('tells the request budget which of its bytes are still arriving, so that a stalled upload does not take the replica out', () => {
    mock.method(log, 'warn', () => {});
    const { state, check } = inputs();
    state.arriving = 1000;
    assert.equal(check(), true);
    state.admission = 'the request byte budget is spent';
    assert.equal(check(), false);
    assert.deepEqual(state.askedWith, [1000, 1000]);
  });
});

describe('shutdown', () => {
  it('leaves, refuses, waits for what is in flight, then closes the listeners and the rest, the assets last', async () => {
    const info = mock.method(log, 'info', () => {});
    const shutdown = new Shutdown({ shutdownDelay: 0, defaultResponseTimeout: 3600 });
    const steps: string[] = [];
    const listener = createServer();
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    listener.on('close', () => steps.push('listener'));
    shutdown.onClosing(() => steps.push(`closing (leaving ${shutdown.leaving})`));
    const done = shutdown.inFlight.track();
    const closed = shutdown.close({
      listeners: [listener],
      grpc: {
        leave: () => steps.push(`grpc leave (closing ${shutdown.closing})`),
        close: async (graceMs) => {
          steps.push(`grpc close ${graceMs}`);
        },
      },
      engine: { close: async () => steps.push('engine') },
      decodes: { close: async () => steps.push('decodes') },
      assets: { close: async () => steps.push('assets') },
    });
    await Promise.resolve();
    assert.deepEqual(steps, ['grpc leave (closing false)', 'closing (leaving true)'], 'nothing closes while a prediction is in flight');
    assert.equal(shutdown.closing, true);
    done();
    await closed;
    assert.deepEqual(steps.slice(2, 5), ['grpc close 1000', 'engine', 'decodes']);
    assert.deepEqual(steps.slice(5).sort(), ['assets', 'listener']);
    assert.equal(steps.at(-1), 'assets');
    assert.ok(info.mock.calls.some((c) => c.arguments[0] === 'waiting for 1 prediction(s) in flight'));
  });

  it('a listener that unsubscribes is not told', async () => {
    const shutdown = new Shutdown({ shutdownDelay: 0, defaultResponseTimeout: 1 });
    let told = false;
    const stop = shutdown.onClosing(() => {
      told = true;
    });
    stop();
    await shutdown.close({ listeners: [], grpc: null, engine: { close: async () => {} }, decodes: { close: async () => {} }, assets: null });
    assert.equal(told, false);
  });
});

describe('engine options', () => {
  it('come from the settings, a load never given less than two minutes', () => {
    const config = resolveConfig({
      args: { backend: 'wasm', batch_size: '4', max_batch_delay: '5', workers: '2', chromium_args: '--a  --b', chromium_sandbox: 'off', default_response_timeout: '10', job_queue_size: '7' },
    });
    const events = engineEvents(() => null);
    const options = chromiumEngineOptions(config, '/bin/chromium', { origin: 'http://127.0.0.1:1', pageUrl: 'http://127.0.0.1:1/x/' }, events);
    assert.equal(options.chromePath, '/bin/chromium');
    assert.equal(options.backend, 'wasm');
    assert.equal(options.sandbox, 'off');
    // The page heap bound (page_heap_mb) first, so that an operator's --js-flags replaces it.
    assert.deepEqual(options.chromiumArgs, ['--js-flags=--max-old-space-size=1024', '--a', '--b']);
    assert.deepEqual([options.batchSize, options.maxBatchDelayMs, options.workers, options.jobQueueSize], [4, 5, 2, 7]);
    assert.equal(options.maxWorkers, config.models.maxWorkers);
    assert.equal(options.loadTimeoutMs, 120_000);
    assert.equal(chromiumEngineOptions(resolveConfig({ args: { default_response_timeout: '300' } }), '', options.runtime, events).loadTimeoutMs, 300_000);
  });

  it('report to the metrics once they exist, and to nothing before', () => {
    let metrics: Metrics | null = null;
    const events = engineEvents(() => metrics);
    events.browserRelaunched();
    let restarts = 0;
    const pages: unknown[] = [];
    metrics = {
      browserRestarts: { inc: () => restarts++ },
      pageRestarts: { inc: (labels: unknown) => pages.push(labels) },
      parityFailures: { inc: () => {} },
    } as unknown as Metrics;
    events.browserRelaunched();
    events.workerReplaced({ name: 'm', version: '1.0' } as Parameters<typeof events.workerReplaced>[0]);
    assert.equal(restarts, 1);
    assert.deepEqual(pages, [{ model_name: 'm', model_version: '1.0' }]);
  });
});
