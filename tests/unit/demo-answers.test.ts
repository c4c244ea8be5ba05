// The demo page's pure helpers: reading answers, comparing them, Server-Timing, error words.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareAnswers, displayLabel, parseAnswer } from '../../public/answers.js';
import { describeError, ServerError } from '../../public/server-client.js';
import { parseServerTiming } from '../../public/server-timing.js';

describe('parseAnswer', () => {
  it('reads the default list format', () => {
    assert.deepEqual(
      parseAnswer([
        { class: 'a', probability: 0.2 },
        { class: 'b', probability: 0.7 },
      ]),
      [
        { label: 'b', probability: 0.7 },
        { label: 'a', probability: 0.2 },
      ],
    );
  });
  it("reads TorchServe's object format, highest first even with numeric labels", () => {
    assert.deepEqual(
      parseAnswer({ '7': 0.1, '3': 0.6, '12': 0.3 }).map((r) => r.label),
      ['3', '12', '7'],
    );
  });
  it('refuses anything else', () => {
    assert.throws(() => parseAnswer('tabby'), TypeError);
    assert.throws(() => parseAnswer([{ class: 1, probability: 0.5 }]), TypeError);
    assert.throws(() => parseAnswer({ a: '0.5' }), TypeError);
  });
});

describe('displayLabel', () => {
  it('drops the WordNet id and underscores', () => {
    assert.equal(displayLabel('n02123045 tabby, tabby cat'), 'tabby, tabby cat');
    assert.equal(displayLabel('tiger_cat'), 'tiger cat');
    assert.equal(displayLabel('42'), '42');
  });
});

describe('compareAnswers', () => {
  const server = [
    { label: 'tabby', probability: 0.46 },
    { label: 'tiger cat', probability: 0.31 },
    { label: 'lynx', probability: 0.01 },
  ];
  it('finds the largest difference over the classes both hold, and where', () => {
    const local = [
      { label: 'tabby', probability: 0.455 },
      { label: 'tiger cat', probability: 0.318 },
      { label: 'egyptian cat', probability: 0.2 },
    ];
    const c = compareAnswers(server, local);
    assert.equal(c.compared, 2);
    assert.equal(c.at, 'tiger cat');
    assert.ok(Math.abs(c.maxDifference - 0.008) < 1e-12);
    assert.equal(c.sameFirst, true);
  });
  it('says when the first classes differ', () => {
    const c = compareAnswers(server, [
      { label: 'tiger cat', probability: 0.5 },
      { label: 'tabby', probability: 0.3 },
    ]);
    assert.equal(c.sameFirst, false);
    assert.ok(Math.abs(c.maxDifference - 0.19) < 1e-12);
  });
  it('of two local classes with one name, compares the first, as the server keeps it', () => {
    const c = compareAnswers(
      [{ label: 'crane', probability: 0.4 }],
      [
        { label: 'crane', probability: 0.39 },
        { label: 'crane', probability: 0.01 },
      ],
    );
    assert.ok(Math.abs(c.maxDifference - 0.01) < 1e-12);
  });
});

describe('parseServerTiming', () => {
  it('reads durations in order, with or without descriptions', () => {
    assert.deepEqual(
      [...parseServerTiming('read;dur=0.3, decode;desc="sharp";dur=7.7, total;dur=52.0')],
      [
        ['read', 0.3],
        ['decode', 7.7],
        ['total', 52],
      ],
    );
    assert.equal(parseServerTiming(null).size, 0);
    assert.equal(parseServerTiming('cache, db;dur=abc').size, 0);
  });
});

describe('describeError', () => {
  it("leads with plain words and keeps the server's own message", () => {
    const e = describeError(new ServerError(400, 'BadRequestException', 'The request body is not a supported image (it looks like text).'));
    assert.equal(e.lead, 'The server could not use this file.');
    assert.equal(e.detail, 'The request body is not a supported image (it looks like text). (400 BadRequestException)');
    assert.equal(describeError(new ServerError(413, 'RequestEntityTooLargeException', 'x')).lead, 'The file is too large for the server.');
    assert.equal(describeError(new ServerError(502, 'HttpError', 'x')).lead, 'The server failed on this request.');
    assert.match(describeError(new ServerError(0, 'NetworkError', 'The server did not answer.')).detail, /^The server did not answer\.$/);
    assert.equal(describeError(new Error('boom')).detail, 'boom');
  });
});
