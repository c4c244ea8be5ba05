import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, parseArgs, parseProperties, resolveConfig } from '../../server/config/config.js';
import { readTls } from '../../server/config/tls-files.js';
import { SETTING_NAMED } from '../../server/config/settings.js';
import { selfSignedCertificate } from '../support/tls.js';

describe('parseProperties', () => {
  it('reads key=value and key:value lines, trimming around keys and values', () => {
    const text = ['inference_address = http://0.0.0.0:9000', 'model_store:  /srv/models  ', '  backend=wasm'].join('\n');
    assert.deepEqual(parseProperties(text), {
      inference_address: 'http://0.0.0.0:9000',
      model_store: '/srv/models',
      backend: 'wasm',
    });
  });

  it('splits at the first separator only, so values may hold = and :', () => {
    assert.deepEqual(parseProperties('management_address=http://127.0.0.1:8081\nchrome_path: C:\\chrome=1'), {
      management_address: 'http://127.0.0.1:8081',
      chrome_path: 'C:\\chrome=1',
    });
  });

  it('skips blank lines, # and ! comments, and accepts CRLF line ends', () => {
    const text = '# a comment\r\n\r\n   \r\n! another comment\r\nwasm_threads=4\r\n  # indented comment=1\r\n';
    assert.deepEqual(parseProperties(text), { wasm_threads: '4' });
  });

  it('keeps an empty value', () => {
    assert.deepEqual(parseProperties('backend='), { backend: '' });
  });

  it('lets a later line override an earlier one', () => {
    assert.deepEqual(parseProperties('backend=wasm\nbackend=webgpu'), { backend: 'webgpu' });
  });

  it('returns an empty object for empty text', () => {
    assert.deepEqual(parseProperties(''), {});
  });

  it('rejects a line without a separator, naming its 1-based line number', () => {
    assert.throws(
      () => parseProperties('# ok\nbackend=wasm\njust some words'),
      (e: unknown) => e instanceof ConfigError && /line 3/.test(e.message) && e.message.includes('just some words'),
    );
  });

  it('rejects a line that starts with a separator (no key)', () => {
    assert.throws(() => parseProperties('=value'), ConfigError);
    assert.throws(() => parseProperties(': value'), ConfigError);
  });
});

describe('parseArgs', () => {
  it('turns --a-b x into a_b: x', () => {
    assert.deepEqual(parseArgs(['--model-store', '/m', '--wasm-threads', '3']), {
      values: { model_store: '/m', wasm_threads: '3' },
      configFile: null,
    });
  });

  it('accepts --a-b=x and keeps = inside the value', () => {
    assert.deepEqual(parseArgs(['--inference-address=http://h:1', '--chrome-path=/a=b']), {
      values: { inference_address: 'http://h:1', chrome_path: '/a=b' },
      configFile: null,
    });
  });

  it('accepts an empty value after =', () => {
    assert.deepEqual(parseArgs(['--backend=']).values, { backend: '' });
  });

  it('takes --ts-config (and --config) as the config file, not as a value', () => {
    assert.deepEqual(parseArgs(['--ts-config', 'config.properties', '--backend', 'wasm']), {
      values: { backend: 'wasm' },
      configFile: 'config.properties',
    });
    assert.deepEqual(parseArgs(['--ts-config=a.properties']), { values: {}, configFile: 'a.properties' });
    assert.deepEqual(parseArgs(['--config', 'b.properties']), { values: {}, configFile: 'b.properties' });
  });

  it('returns nothing for no arguments', () => {
    assert.deepEqual(parseArgs([]), { values: {}, configFile: null });
  });

  it('rejects a flag without a value, naming the flag with dashes', () => {
    assert.throws(
      () => parseArgs(['--backend', 'wasm', '--model-store']),
      (e: unknown) => e instanceof ConfigError && e.message.includes('--model-store') && /needs a value/.test(e.message),
    );
  });

  it('rejects a flag whose value is the next flag', () => {
    assert.throws(
      () => parseArgs(['--backend', '--model-store', 'x']),
      (e: unknown) => e instanceof ConfigError && /--backend needs a value/.test(e.message),
    );
  });

  it('rejects an unknown flag, with or without a value, naming the setting and the known ones', () => {
    for (const argv of [['--model-stor', 'x'], ['--model-stor'], ['--model_stor=x']]) {
      assert.throws(
        () => parseArgs(argv),
        (e: unknown) => e instanceof ConfigError && e.message.startsWith('unknown setting "model_stor" in the command line; known: inference_address'),
        argv.join(' '),
      );
    }
  });

  it('accepts flags spelled with underscores', () => {
    assert.deepEqual(parseArgs(['--model_store', '/m', '--ts_config=c']), { values: { model_store: '/m' }, configFile: 'c' });
  });

  it('takes a true/false flag alone as true, and a word after it as its value', () => {
    assert.deepEqual(parseArgs(['--disable-token-auth', '--enable-token-authorization']).values, { disable_token_auth: 'true', enable_token_authorization: 'true' });
    assert.deepEqual(parseArgs(['--disable-demo-page', 'false', '--backend', 'wasm']).values, { disable_demo_page: 'false', backend: 'wasm' });
  });

  it('passes a value that starts with one dash on, for the setting to judge', () => {
    assert.deepEqual(parseArgs(['--parity-tolerance', '-1']).values, { parity_tolerance: '-1' });
    assert.throws(() => resolveConfig({ args: parseArgs(['--parity-tolerance', '-1']).values }), /parity_tolerance must be a number >= 0; got "-1"/);
  });

  it('rejects a stray positional argument', () => {
    assert.throws(
      () => parseArgs(['serve']),
      (e: unknown) => e instanceof ConfigError && e.message.includes('"serve"'),
    );
    assert.throws(() => parseArgs(['--backend', 'wasm', 'extra']), ConfigError);
    assert.throws(() => parseArgs(['-b', 'wasm']), ConfigError);
  });
});

describe('resolveConfig', () => {
  it('has the documented defaults', () => {
    const c = resolveConfig({ machine: { cores: 6 } });
    assert.equal(c.listeners.inference.hostname, '127.0.0.1');
    assert.equal(c.listeners.inference.port, '8080');
    assert.equal(c.listeners.inference.protocol, 'http:');
    assert.equal(c.listeners.management.hostname, '127.0.0.1');
    assert.equal(c.listeners.management.port, '8081');
    assert.equal(c.models.store, 'models');
    assert.equal(c.runtime.backend, null);
    assert.equal(c.runtime.ortBuild, 'webgpu');
    assert.equal(c.runtime.wasmThreads, 6, 'wasm_threads 0 (the default) means one per core');
    assert.equal(c.runtime.parityTolerance, 0.001);
    assert.equal(c.timeouts.defaultResponseTimeout, 120);
    assert.equal(c.limits.maxRequestSize, 6553500);
    assert.equal(c.limits.maxImagePixels, 40_000_000);
    assert.equal(c.chromium.path, null);
    assert.equal(c.web.demoPage, true);
  });

  it('--disable-demo-page, a bare switch, turns the demo page off; a bad value is refused', () => {
    assert.equal(resolveConfig({ args: parseArgs(['--disable-demo-page']).values }).web.demoPage, false);
    assert.equal(resolveConfig({ env: { TS_DISABLE_DEMO_PAGE: 'true' } }).web.demoPage, false);
    assert.throws(() => resolveConfig({ file: { disable_demo_page: 'yes' } }), ConfigError);
  });

  it('defaults to 2 cores when none are given, and never uses fewer than 1 thread', () => {
    assert.equal(resolveConfig({}).runtime.wasmThreads, 2);
    assert.equal(resolveConfig({ machine: { cores: 0 } }).runtime.wasmThreads, 1);
    assert.equal(resolveConfig({ args: { wasm_threads: '0' }, machine: { cores: 12 } }).runtime.wasmThreads, 12);
  });

  it('keeps an explicit wasm_threads regardless of cores', () => {
    assert.equal(resolveConfig({ args: { wasm_threads: '3' }, machine: { cores: 16 } }).runtime.wasmThreads, 3);
  });

  it('reads every kind of value', () => {
    const c = resolveConfig({
      file: {
        model_store: '/srv/models',
        backend: 'webgpu',
        ort_build: 'jsep',
        parity_tolerance: '0.05',
        default_response_timeout: '2.5',
        max_request_size: '1000',
        max_image_pixels: '4096',
        chrome_path: '/usr/bin/chromium',
      },
    });
    assert.equal(c.models.store, '/srv/models');
    assert.equal(c.runtime.backend, 'webgpu');
    assert.equal(c.runtime.ortBuild, 'jsep');
    assert.equal(c.runtime.parityTolerance, 0.05);
    assert.equal(c.timeouts.defaultResponseTimeout, 2.5);
    assert.equal(c.limits.maxRequestSize, 1000);
    assert.equal(c.limits.maxImagePixels, 4096);
    assert.equal(c.chromium.path, '/usr/bin/chromium');
  });

  it('accepts each backend and each ort build', () => {
    for (const backend of ['auto', 'webgpu', 'wasm'] as const) {
      assert.equal(resolveConfig({ args: { backend } }).runtime.backend, backend);
    }
    for (const ortBuild of ['webgpu', 'jsep'] as const) {
      assert.equal(resolveConfig({ args: { ort_build: ortBuild } }).runtime.ortBuild, ortBuild);
    }
  });

  it('treats an empty backend as unset', () => {
    assert.equal(resolveConfig({ args: { backend: '' } }).runtime.backend, null);
  });

  it('applies file < environment < command line', () => {
    const file = { backend: 'wasm', model_store: 'from-file', wasm_threads: '1', max_request_size: '10' };
    const env = { TS_BACKEND: 'webgpu', TS_MODEL_STORE: 'from-env', TS_WASM_THREADS: '2' };
    const args = { backend: 'auto' };
    const c = resolveConfig({ file, env, args });
    assert.equal(c.runtime.backend, 'auto', 'args beat env and file');
    assert.equal(c.models.store, 'from-env', 'env beats file');
    assert.equal(c.runtime.wasmThreads, 2, 'env beats file');
    assert.equal(c.limits.maxRequestSize, 10, 'file beats defaults');
  });

  it('reads TS_<KEY> for every key and ignores other variables', () => {
    const c = resolveConfig({
      env: {
        TS_INFERENCE_ADDRESS: 'http://0.0.0.0:9090',
        TS_MANAGEMENT_ADDRESS: 'http://0.0.0.0:9091',
        TS_ORT_BUILD: 'jsep',
        TS_MAX_IMAGE_PIXELS: '77',
        TS_DEFAULT_RESPONSE_TIMEOUT: '5',
        PATH: '/usr/bin',
        TS_NOT_A_SETTING: 'x',
        ts_backend: 'wasm',
      },
    });
    assert.equal(c.listeners.inference.port, '9090');
    assert.equal(c.listeners.inference.hostname, '0.0.0.0');
    assert.equal(c.listeners.management.port, '9091');
    assert.equal(c.runtime.ortBuild, 'jsep');
    assert.equal(c.limits.maxImagePixels, 77);
    assert.equal(c.timeouts.defaultResponseTimeout, 5);
    assert.equal(c.runtime.backend, null, 'lower-case ts_backend is not read');
  });

  it('ignores environment variables whose value is undefined', () => {
    assert.equal(resolveConfig({ env: { TS_BACKEND: undefined } }).runtime.backend, null);
  });

  it('takes CHROME_PATH when TS_CHROME_PATH is not set', () => {
    assert.equal(resolveConfig({ env: { CHROME_PATH: '/opt/chrome' } }).chromium.path, '/opt/chrome');
  });

  it('prefers TS_CHROME_PATH over CHROME_PATH, and the command line over both', () => {
    const env = { CHROME_PATH: '/opt/chrome', TS_CHROME_PATH: '/opt/ts-chrome' };
    assert.equal(resolveConfig({ env }).chromium.path, '/opt/ts-chrome');
    assert.equal(resolveConfig({ env, args: { chrome_path: '/cli/chrome' } }).chromium.path, '/cli/chrome');
  });

  it('lets CHROME_PATH override the config file', () => {
    assert.equal(resolveConfig({ file: { chrome_path: '/file/chrome' }, env: { CHROME_PATH: '/env/chrome' } }).chromium.path, '/env/chrome');
  });

  it('reads each alias from every source, and names it as given when refusing its value', () => {
    assert.deepEqual(resolveConfig({ file: { models: 'a, b' } }).models.load, ['a', 'b']);
    assert.deepEqual(resolveConfig({ env: { TS_MODELS: 'c' } }).models.load, ['c']);
    assert.equal(resolveConfig({ args: parseArgs(['--default-workers-per-model', '3']).values }).models.workers, 3);
    assert.equal(resolveConfig({ env: { TS_DISABLE_TOKEN_AUTH: 'true' } }).auth.tokenAuthorization, false);
    assert.throws(() => resolveConfig({ env: { TS_DISABLE_TOKEN_AUTH: 'yes' } }), /disable_token_auth must be true or false; got "yes"/);
  });

  it('lets a later source set a setting under its alias over an earlier one under its name, and its name win in one place', () => {
    assert.equal(resolveConfig({ file: { workers: '2' }, args: { default_workers_per_model: '3' } }).models.workers, 3);
    assert.equal(resolveConfig({ env: { TS_WORKERS: '2', TS_DEFAULT_WORKERS_PER_MODEL: '3' } }).models.workers, 2);
  });

  it('rejects an unknown key from each source, naming the source', () => {
    assert.throws(
      () => resolveConfig({ file: { modelstore: 'x' } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('"modelstore"') && e.message.includes('config file'),
    );
    assert.throws(
      () => resolveConfig({ args: { model_stor: 'x' } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('"model_stor"') && e.message.includes('command line'),
    );
  });

  it('does not treat inherited object properties as keys', () => {
    assert.throws(() => resolveConfig({ args: { toString: 'x' } }), ConfigError);
    assert.throws(() => resolveConfig({ args: { constructor: 'x' } }), ConfigError);
  });

  it('lists the known keys in the unknown-key message', () => {
    assert.throws(
      () => resolveConfig({ args: { nope: '1' } }),
      (e: unknown) => e instanceof ConfigError && [...SETTING_NAMED.keys()].every((k) => e.message.includes(k)),
    );
  });

  it('rejects an invalid backend and ort build', () => {
    assert.throws(
      () => resolveConfig({ args: { backend: 'cuda' } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('backend') && e.message.includes('"cuda"'),
    );
    assert.throws(() => resolveConfig({ args: { backend: 'WASM' } }), ConfigError);
    assert.throws(() => resolveConfig({ args: { ort_build: 'webgl' } }), ConfigError);
  });

  it('rejects invalid numbers', () => {
    const bad: Array<[string, string]> = [
      ['wasm_threads', '-1'],
      ['wasm_threads', '1.5'],
      ['wasm_threads', 'four'],
      ['wasm_threads', ''],
      ['parity_tolerance', '-0.1'],
      ['parity_tolerance', 'NaN'],
      ['parity_tolerance', 'Infinity'],
      ['default_response_timeout', '0'],
      ['default_response_timeout', '0.5'],
      ['max_request_size', '0'],
      ['max_request_size', '10.5'],
      ['max_request_size', '10kb'],
      ['max_image_pixels', '0'],
      ['max_image_pixels', ''],
    ];
    for (const [key, value] of bad) {
      assert.throws(
        () => resolveConfig({ args: { [key]: value } }),
        (e: unknown) => e instanceof ConfigError && e.message.includes(key) && e.message.includes(`"${value}"`),
        `${key}=${JSON.stringify(value)} should be rejected`,
      );
    }
  });

  it('accepts the lowest allowed numbers', () => {
    const c = resolveConfig({ args: { parity_tolerance: '0', default_response_timeout: '1', max_request_size: '1', max_image_pixels: '1' } });
    assert.equal(c.runtime.parityTolerance, 0);
    assert.equal(c.timeouts.defaultResponseTimeout, 1);
    assert.equal(c.limits.maxRequestSize, 1);
    assert.equal(c.limits.maxImagePixels, 1);
  });

  it('accepts an address without a scheme as http', () => {
    const c = resolveConfig({ args: { inference_address: '0.0.0.0:9000', management_address: 'localhost:9001' } });
    assert.equal(c.listeners.inference.protocol, 'http:');
    assert.equal(c.listeners.inference.hostname, '0.0.0.0');
    assert.equal(c.listeners.inference.port, '9000');
    assert.equal(c.listeners.management.hostname, 'localhost');
    assert.equal(c.listeners.management.port, '9001');
  });

  it('rejects an address of another scheme and an unparseable address', () => {
    assert.throws(
      () => resolveConfig({ args: { inference_address: 'ftp://127.0.0.1:8443' } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('inference_address') && /only http:\/\/ and https:\/\//.test(e.message),
    );
    assert.throws(
      () => resolveConfig({ args: { management_address: 'http://[::1' } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('management_address'),
    );
    assert.throws(() => resolveConfig({ args: { inference_address: '127.0.0.1:99999' } }), ConfigError);
  });

  it('takes an https address with both PEM files, and reads no file while every address is http', () => {
    const files = { private_key_file: '/etc/tls/key.pem', certificate_file: '/etc/tls/cert.pem' };
    const c = resolveConfig({ file: { ...files, metrics_address: 'https://0.0.0.0:8445' } });
    assert.equal(c.listeners.metrics.protocol, 'https:');
    assert.equal(c.listeners.inference.protocol, 'http:');
    assert.deepEqual(c.tls, { privateKeyFile: '/etc/tls/key.pem', certificateFile: '/etc/tls/cert.pem' });
    assert.equal(resolveConfig({ file: files }).tls, null);
    assert.equal(resolveConfig({ env: { TS_PRIVATE_KEY_FILE: 'k', TS_CERTIFICATE_FILE: 'c', TS_INFERENCE_ADDRESS: 'https://h:1' } }).tls?.privateKeyFile, 'k');
  });

  it('refuses an https address without both PEM files, naming the address and what is missing', () => {
    for (const [given, missing] of [
      [{}, 'private_key_file, certificate_file'],
      [{ private_key_file: 'key.pem' }, 'certificate_file'],
      [{ certificate_file: 'cert.pem', private_key_file: '' }, 'private_key_file'],
    ] as const) {
      assert.throws(
        () => resolveConfig({ args: { management_address: 'https://127.0.0.1:8444', ...given } }),
        (e: unknown) => e instanceof ConfigError && e.message === `management_address https://127.0.0.1:8444 needs private_key_file and certificate_file (PEM files); not set: ${missing}`,
        JSON.stringify(given),
      );
    }
  });

  it('reads a properties file and command line together, end to end', () => {
    const { values, configFile } = parseArgs(['--ts-config', 'x.properties', '--backend=wasm']);
    assert.equal(configFile, 'x.properties');
    const file = parseProperties('# server\nbackend=webgpu\nmodel_store=/m\n');
    const c = resolveConfig({ file, args: values });
    assert.equal(c.runtime.backend, 'wasm');
    assert.equal(c.models.store, '/m');
  });
});

describe('bounds derived from the machine', () => {
  const machine = { cores: 2, memoryBytes: 24 * 1024 ** 3, openFiles: 20_000, threadPoolSize: 4 };
  it('refuses values past each bound, with the bound and where it comes from', () => {
    for (const [key, value, says] of [
      ['workers', '10000', /from 1 to 8 \(max_workers, derived from 2 cores and 24 GiB\)/],
      ['default_workers_per_model', '9', /from 1 to 8/],
      ['batch_size', '999999', /from 1 to 64/],
      ['max_batch_delay', '1e12', /from 0 to 10000/],
      ['default_response_timeout', '1e7', /from 1 to 3600/],
      ['job_queue_size', '1000000', /from 1 to 10000/],
      ['max_request_size', '1e10', /from 1 to 1073741824/],
      ['max_image_pixels', '1e12', /from 1 to 268402689/],
      ['wasm_threads', '1000', /from 0 to 8 \(4 per core on 2 cores\)/],
      ['decode_slots', '4', /from 1 to 3 .*UV_THREADPOOL_SIZE/],
      ['max_connections', '50000', /below the open-file limit of 20000/],
      ['max_inflight_bytes', '1000', /at least max_request_size/],
      ['max_jpeg_scans', '0', /from 1 to 100000/],
      ['max_client_upload_bytes', '1000', /from 6553500 to 536870912 \(at least max_request_size, at most max_inflight_bytes, or 0 for no bound per client\)/],
      ['max_client_upload_bytes', '600000000', /from 0 to 536870912 \(at least max_request_size, at most max_inflight_bytes, or 0/],
      ['min_upload_rate', '-1', />= 0/],
      ['upload_rate_window', '0', /from 0.1 to 3600/],
    ] as const) {
      assert.throws(
        () => resolveConfig({ args: { [key]: value }, machine }),
        (e: unknown) => e instanceof ConfigError && says.test(e.message),
        `${key}=${value}`,
      );
    }
  });

  it('derives its defaults from the machine, and lets each be set', () => {
    const c = resolveConfig({ machine });
    assert.equal(c.models.maxWorkers, 8);
    assert.equal(c.limits.maxInflightBytes, 512 * 1024 ** 2);
    assert.equal(c.limits.decodeSlots, 2);
    assert.equal(c.limits.maxJpegScans, 100);
    assert.equal(c.listeners.maxConnections, 15_180);
    assert.equal(c.listeners.smallListenerConnections, 256);
    assert.deepEqual(c.limits.uploads, { perClientBytes: 256 * 1024 ** 2, minBytesPerSecond: 240, windowMs: 10_000 });
    assert.equal(resolveConfig({ args: { max_inflight_bytes: '10000000' }, machine }).limits.uploads.perClientBytes, 6_553_500, 'half the budget, but at least max_request_size');
    const uploads = resolveConfig({ args: { max_client_upload_bytes: '100000000', min_upload_rate: '0', upload_rate_window: '0.5' }, machine }).limits.uploads;
    assert.deepEqual(uploads, { perClientBytes: 100_000_000, minBytesPerSecond: 0, windowMs: 500 });
    assert.equal(resolveConfig({ args: { max_client_upload_bytes: '0' }, machine }).limits.uploads.perClientBytes, Number.POSITIVE_INFINITY, '0: no bound per client');
    const set = resolveConfig({ args: { max_workers: '20', workers: '20', decode_slots: '1', max_connections: '100', max_inflight_bytes: '10000000' }, machine });
    assert.deepEqual(
      [set.models.maxWorkers, set.models.workers, set.limits.decodeSlots, set.listeners.maxConnections, set.listeners.smallListenerConnections, set.limits.maxInflightBytes],
      [20, 20, 1, 100, 100, 10_000_000],
    );
  });
});

describe('readTls', () => {
  const made = selfSignedCertificate();
  after(() => made.remove());
  const file = (name: string, text: string | Buffer) => {
    const at = path.join(made.dir, name);
    writeFileSync(at, text);
    return at;
  };
  const refuses = (files: { privateKeyFile?: string; certificateFile?: string }, says: RegExp) =>
    assert.throws(
      () => readTls({ privateKeyFile: made.key, certificateFile: made.cert, ...files }),
      (e: unknown) => e instanceof ConfigError && says.test(e.message),
      says.source,
    );
  const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

  it('reads a key and the certificate it belongs to', () => {
    const tls = readTls({ privateKeyFile: made.key, certificateFile: made.cert });
    assert.match(tls.key, /-----BEGIN PRIVATE KEY-----/);
    assert.match(tls.cert, /-----BEGIN CERTIFICATE-----/);
  });

  it('refuses a file it cannot read, naming the setting and the file once', () => {
    refuses({ privateKeyFile: '/nonexistent/key.pem' }, /^private_key_file "\/nonexistent\/key.pem" cannot be read: ENOENT: no such file or directory$/);
    refuses({ certificateFile: made.dir }, /^certificate_file ".*" cannot be read: EISDIR/);
  });

  it('refuses a file that is not PEM, a DER key, and a PEM block that does not parse', () => {
    refuses({ certificateFile: file('cert.txt', 'not a certificate') }, /^certificate_file ".*cert.txt" is not a PEM certificate/);
    refuses({ certificateFile: made.key }, /^certificate_file ".*key.pem" is not a PEM certificate/);
    refuses({ privateKeyFile: made.cert }, /^private_key_file ".*cert.pem" is not a PEM private key/);
    refuses({ privateKeyFile: file('key.der', otherKey.export({ type: 'pkcs8', format: 'der' })) }, /is not a PEM private key/);
    refuses({ privateKeyFile: file('broken.pem', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n') }, /is not a PEM private key/);
    refuses({ certificateFile: file('broken-cert.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n') }, /is not a PEM certificate/);
  });

  it("refuses an encrypted key and a key that is not the certificate's", () => {
    const encrypted = otherKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string;
    refuses({ privateKeyFile: file('encrypted.pem', encrypted) }, /is encrypted: give the key without a passphrase/);
    refuses(
      { privateKeyFile: file('other.pem', otherKey.export({ type: 'pkcs8', format: 'pem' }) as string) },
      /^private_key_file ".*other.pem" is not the key of the certificate in certificate_file ".*cert.pem"$/,
    );
  });
});

describe('gRPC settings', () => {
  it("default to TorchServe's ports on loopback, connections told to go after 5 minutes with the response timeout and 10 s to finish", () => {
    const { grpc } = resolveConfig({});
    assert.deepEqual(grpc, {
      inference: { host: '127.0.0.1', port: 7070, maxConnectionAgeMs: 300_000, maxConnectionAgeGraceMs: 130_000 },
      management: { host: '127.0.0.1', port: 7071, maxConnectionAgeMs: 300_000, maxConnectionAgeGraceMs: 130_000 },
      tls: false,
      limits: { maxConnections: 256, maxConnectionsPerClient: 128, maxStreamResets: 200 },
      keepalive: { timeMs: 60_000, timeoutMs: 20_000 },
    });
  });

  it("bound connections per client to half the listener by default, and stream resets below nghttp2's own bound", () => {
    assert.deepEqual(resolveConfig({ args: { max_connections: '10' } }).grpc?.limits, { maxConnections: 10, maxConnectionsPerClient: 5, maxStreamResets: 200 });
    assert.equal(resolveConfig({ args: { max_connections: '1' } }).grpc?.limits.maxConnectionsPerClient, 1, 'never 0');
    const c = resolveConfig({
      args: parseArgs(['--grpc-max-connections-per-client', '3', '--grpc-max-stream-resets', '50', '--grpc-keepalive-time-ms', '2000', '--grpc-keepalive-timeout-ms', '500']).values,
    });
    assert.deepEqual(
      [c.grpc?.limits, c.grpc?.keepalive],
      [
        { maxConnections: 256, maxConnectionsPerClient: 3, maxStreamResets: 50 },
        { timeMs: 2000, timeoutMs: 500 },
      ],
    );
    assert.throws(() => resolveConfig({ args: { grpc_max_stream_resets: '1000' } }), /grpc_max_stream_resets/);
  });

  it('take hosts with or without IPv6 brackets, refuse a port or a scheme in the host, and turn off with disable_grpc', () => {
    const c = resolveConfig({ args: parseArgs(['--grpc-inference-address', '[::1]', '--grpc-management-port', '0', '--grpc-inference-max-connection-age-grace-ms', '5']).values });
    assert.equal(c.grpc?.inference.host, '::1');
    assert.equal(c.grpc?.inference.maxConnectionAgeGraceMs, 5);
    assert.equal(c.grpc?.management.port, 0);
    assert.throws(() => resolveConfig({ env: { TS_GRPC_INFERENCE_ADDRESS: '127.0.0.1:7070' } }), /grpc_inference_address must be a host name or an IP address, without a port/);
    assert.throws(() => resolveConfig({ file: { grpc_management_address: 'http://0.0.0.0' } }), /grpc_management_address must be a host name/);
    assert.equal(resolveConfig({ args: parseArgs(['--disable-grpc']).values }).grpc, null);
  });

  it('enable_grpc_ssl needs the key and certificate, and makes tls read them', () => {
    assert.throws(
      () => resolveConfig({ args: parseArgs(['--enable-grpc-ssl']).values }),
      /^Error: enable_grpc_ssl needs private_key_file and certificate_file \(PEM files\); not set: private_key_file, certificate_file$/,
    );
    const c = resolveConfig({ args: parseArgs(['--enable-grpc-ssl', '--private-key-file', 'k.pem', '--certificate-file', 'c.pem']).values });
    assert.deepEqual([c.grpc?.tls, c.tls], [true, { privateKeyFile: 'k.pem', certificateFile: 'c.pem' }]);
  });
});
