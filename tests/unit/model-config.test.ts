import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compareVersions, ModelConfigError, parseModelConfig, SAFE_NAME, shortLabel } from '../../server/store/model-config.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';

const minimal = { input_name: 'in', output_name: 'out' };

describe('parseModelConfig', () => {
  it('fills every default from a minimal config', () => {
    assert.deepEqual(parseModelConfig(minimal), {
      handler: 'image_classifier',
      handlerInput: null,
      description: '',
      defaultVersion: null,
      labels: null,
      inputName: 'in',
      outputName: 'out',
      output: 'logits',
      resize: 256,
      resampling: 'sharp',
      fit: 'crop',
      fill: 114,
      align: 'top-left',
      normalisation: {
        size: 224,
        channelOrder: 'RGB',
        layout: 'NCHW',
        scale: 1 / 255,
        mean: [0, 0, 0],
        std: [1, 1, 1],
      },
      answer: 'json',
      detector: null,
      tokenizer: null,
      text: null,
      backend: null,
      outputFormat: 'classes',
      topk: 5,
      batchSize: null,
      maxBatchDelayMs: null,
      workers: null,
      wasmThreads: null,
      gpuPreprocess: null,
      graphCapture: null,
      responseTimeout: null,
      startupTimeout: null,
    });
  });

  it('derives the default resize from crop as round(crop * 256 / 224)', () => {
    // 299 * 256 / 224 = 341.71..., rounds to 342; 112 * 256 / 224 = 128 exactly.
    assert.equal(parseModelConfig({ ...minimal, preprocessing: { crop: 299 } }).resize, 342);
    assert.equal(parseModelConfig({ ...minimal, preprocessing: { crop: 112 } }).resize, 128);
    assert.equal(parseModelConfig({ ...minimal, preprocessing: { crop: 299 } }).normalisation.size, 299);
  });

  it('reads the bundled models/mobilenet_v2/config.json', () => {
    const json: unknown = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'models', 'mobilenet_v2', 'config.json'), 'utf8'));
    const c = parseModelConfig(json);
    assert.equal(c.defaultVersion, '1.0');
    assert.equal(c.labels, 'labels.txt');
    assert.equal(c.inputName, 'input');
    assert.equal(c.outputName, 'output');
    assert.equal(c.output, 'logits');
    assert.equal(c.resize, 256);
    assert.equal(c.normalisation.size, 224);
    assert.equal(c.normalisation.channelOrder, 'RGB');
    assert.equal(c.normalisation.layout, 'NCHW');
    assert.ok(Math.abs(c.normalisation.scale - 1 / 255) < 1e-15);
    assert.deepEqual(c.normalisation.mean, [0.485, 0.456, 0.406]);
    assert.deepEqual(c.normalisation.std, [0.229, 0.224, 0.225]);
    assert.equal(c.backend, 'auto');
    assert.equal(c.outputFormat, 'classes');
    assert.equal(c.topk, 5);
    assert.match(c.description, /MobileNetV2/);
  });

  it('reads every field when given', () => {
    const c = parseModelConfig({
      description: 'd',
      default_version: '2.0',
      labels: 'synset.txt',
      input_name: 'data',
      output_name: 'prob',
      output: 'probabilities',
      preprocessing: { resize: 300, crop: 256, resampling: 'pil', channel_order: 'BGR', layout: 'NHWC', scale: 1, mean: [103.9, 116.8, -123.7], std: [1, 2, 3] },
      backend: 'wasm',
      output_format: 'torchserve',
      topk: 3,
      batch_size: 4,
      max_batch_delay: 2.5,
      workers: 2,
      wasm_threads: 1,
      gpu_preprocess: true,
      graph_capture: false,
      response_timeout: 30,
      startup_timeout: 300,
    });
    assert.deepEqual(c, {
      handler: 'image_classifier',
      handlerInput: null,
      description: 'd',
      defaultVersion: '2.0',
      labels: 'synset.txt',
      inputName: 'data',
      outputName: 'prob',
      output: 'probabilities',
      resize: 300,
      resampling: 'pil',
      fit: 'crop',
      fill: 114,
      align: 'top-left',
      normalisation: { size: 256, channelOrder: 'BGR', layout: 'NHWC', scale: 1, mean: [103.9, 116.8, -123.7], std: [1, 2, 3] },
      answer: 'json',
      detector: null,
      tokenizer: null,
      text: null,
      backend: 'wasm',
      outputFormat: 'torchserve',
      topk: 3,
      batchSize: 4,
      maxBatchDelayMs: 2.5,
      workers: 2,
      wasmThreads: 1,
      gpuPreprocess: true,
      graphCapture: false,
      responseTimeout: 30,
      startupTimeout: 300,
    });
  });

  it("reads an object detector's letterbox and detector settings, with TorchServe's threshold by default", () => {
    const c = parseModelConfig({ ...minimal, handler: 'object_detector', preprocessing: { size: 416, fill: 0, align: 'centre' }, detector: { nms_threshold: 0.6 } });
    assert.equal(c.handler, 'object_detector');
    assert.equal(c.fit, 'letterbox');
    assert.equal(c.normalisation.size, 416);
    assert.equal(c.fill, 0);
    assert.equal(c.align, 'centre');
    assert.deepEqual(c.detector, { format: 'yolox', strides: [8, 16, 32], scoreThreshold: 0.5, nmsThreshold: 0.6, maxDetections: 100 });
    assert.equal(parseModelConfig({ ...minimal, preprocessing: { fit: 'resize' } }).fit, 'resize');
  });

  it("reads an image segmenter's answer form: TorchServe's JSON unless it says png", () => {
    assert.equal(parseModelConfig({ ...minimal, handler: 'image_segmenter' }).answer, 'json');
    assert.equal(parseModelConfig({ ...minimal, handler: 'image_segmenter', answer: 'png' }).answer, 'png');
    assert.throws(() => parseModelConfig({ ...minimal, answer: 'jpeg' }), /"answer" must be "json" or "png"/);
  });

  it('refuses an unknown handler, a bad letterbox and bad detector settings, naming the field', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ handler: 'handler.py' }, /"handler" must be one of "image_classifier", "object_detector"/],
      [{ preprocessing: { fit: 'letterbox', resampling: 'pil' } }, /cannot be used with "fit": "letterbox"/],
      [{ preprocessing: { fill: 256 } }, /"fill" must be an integer from 0 to 255/],
      [{ handler: 'object_detector', detector: { score_threshold: 2 } }, /"score_threshold" must be a number from 0 to 1/],
      [{ handler: 'object_detector', detector: { strides: [] } }, /"strides" must be a list/],
      [{ handler: 'object_detector', detector: { format: 'ssd' } }, /"format" must be "yolox"/],
    ];
    for (const [config, says] of bad)
      assert.throws(
        () => parseModelConfig({ ...minimal, ...config }),
        (e: unknown) => e instanceof ModelConfigError && says.test(e.message),
        JSON.stringify(config),
      );
  });

  it('rejects bad batching and worker settings', () => {
    for (const bad of [
      { wasm_threads: 0 },
      { wasm_threads: 17 },
      { wasm_threads: 1.5 },
      { gpu_preprocess: 'yes' },
      { graph_capture: 1 },
      { batch_size: 0 },
      { batch_size: 1.5 },
      { max_batch_delay: -1 },
      { max_batch_delay: '5' },
      { workers: 0 },
      { response_timeout: 0 },
      { startup_timeout: 0 },
      { startup_timeout: 1.5 },
      { startup_timeout: -1 },
    ]) {
      assert.throws(() => parseModelConfig({ ...minimal, ...bad }), ModelConfigError, JSON.stringify(bad));
    }
  });

  it('refuses every numeric key past its bound, with the bound and why it is there', () => {
    for (const [bad, says] of [
      [{ workers: 1025 }, /"workers" must be an integer from 1 to 1024 \(.*max_workers\); got 1025/],
      [{ workers: 1e9 }, /"workers" must be an integer from 1 to 1024/],
      [{ batch_size: 999999 }, /"batch_size" must be an integer from 1 to 64 \(the largest batch runs at load.*\); got 999999/],
      [{ max_batch_delay: 10001 }, /"max_batch_delay" must be a number of milliseconds from 0 to 10000/],
      [{ response_timeout: 1e12 }, /"response_timeout" must be a number of seconds from 0.001 to 3600/],
      [{ startup_timeout: 3601 }, /"startup_timeout" must be an integer of seconds from 1 to 3600 \(a page still loading its model after an hour is stuck\); got 3601/],
      [{ topk: 1001 }, /"topk" must be an integer from 1 to 1000/],
      [{ preprocessing: { crop: 5000, resize: 5000 } }, /"crop" must be an integer from 1 to 4096 \(a 4096 x 4096 input is 200 MB/],
      [{ preprocessing: { resize: 100000 } }, /"resize" must be an integer from 1 to 4096/],
    ] as const) {
      assert.throws(
        () => parseModelConfig({ ...minimal, ...bad }),
        (e: unknown) => e instanceof ModelConfigError && says.test(e.message),
        JSON.stringify(bad),
      );
    }
  });

  it('accepts every numeric key at its bound', () => {
    const c = parseModelConfig({ ...minimal, workers: 1024, batch_size: 64, max_batch_delay: 10000, response_timeout: 3600, startup_timeout: 3600, topk: 1000, preprocessing: { crop: 4096 } });
    assert.deepEqual([c.workers, c.batchSize, c.maxBatchDelayMs, c.responseTimeout, c.startupTimeout, c.topk, c.normalisation.size], [1024, 64, 10000, 3600, 3600, 1000, 4096]);
    assert.equal(c.resize, 4096, 'the resize derived from a crop at the bound stays within it');
  });

  it('"resampling" is "sharp" or "pil", nothing else', () => {
    assert.equal(parseModelConfig({ ...minimal, preprocessing: { resampling: 'sharp' } }).resampling, 'sharp');
    assert.equal(parseModelConfig({ ...minimal, preprocessing: { resampling: 'pil' } }).resampling, 'pil');
    for (const bad of ['PIL', 'linear', '', 1, null]) {
      assert.throws(
        () => parseModelConfig({ ...minimal, preprocessing: { resampling: bad } }),
        (e: unknown) => e instanceof ModelConfigError && /^"resampling" must be "sharp" or "pil"/.test(e.message),
        JSON.stringify(bad),
      );
    }
  });

  it('accepts resize equal to crop', () => {
    const c = parseModelConfig({ ...minimal, preprocessing: { resize: 224, crop: 224 } });
    assert.equal(c.resize, 224);
  });

  it('rejects resize smaller than crop', () => {
    assert.throws(
      () => parseModelConfig({ ...minimal, preprocessing: { resize: 200, crop: 224 } }),
      (e: unknown) => e instanceof ModelConfigError && e.message.includes('200') && e.message.includes('224'),
    );
    assert.throws(() => parseModelConfig({ ...minimal, preprocessing: { resize: 223 } }), ModelConfigError);
  });

  it('rejects a config that is not an object', () => {
    for (const json of [null, undefined, 'config', 42, [], [minimal], true]) {
      assert.throws(() => parseModelConfig(json), ModelConfigError, `${JSON.stringify(json)} should be rejected`);
    }
  });

  // Each case: a field and a bad value; the message must name the field.
  const badTop: Array<[string, unknown]> = [
    ['description', 42],
    ['description', null],
    ['default_version', ''],
    ['default_version', 1],
    ['default_version', null],
    ['labels', ''],
    ['labels', ['labels.txt']],
    ['input_name', ''],
    ['input_name', 3],
    ['input_name', undefined],
    ['output_name', ''],
    ['output_name', undefined],
    ['output', 'softmax'],
    ['output', null],
    ['backend', 'cuda'],
    ['backend', ''],
    ['backend', null],
    ['output_format', 'json'],
    ['output_format', 1],
    ['topk', 0],
    ['topk', -1],
    ['topk', 2.5],
    ['topk', '5'],
    ['topk', null],
    ['preprocessing', 'none'],
    ['preprocessing', null],
    ['preprocessing', [224]],
  ];
  for (const [key, value] of badTop) {
    it(`rejects ${key}: ${JSON.stringify(value) ?? 'missing'}`, () => {
      const json: Record<string, unknown> = { ...minimal, [key]: value };
      if (value === undefined) delete json[key];
      assert.throws(
        () => parseModelConfig(json),
        (e: unknown) => e instanceof ModelConfigError && e.message.includes(`"${key}"`),
      );
    });
  }

  const badPre: Array<[string, unknown]> = [
    ['crop', 0],
    ['crop', -224],
    ['crop', 224.5],
    ['crop', '224'],
    ['crop', null],
    ['resize', 0],
    ['resize', 256.5],
    ['resize', '256'],
    ['channel_order', 'rgb'],
    ['channel_order', 'RGBA'],
    ['layout', 'nchw'],
    ['layout', 'CHW'],
    ['scale', '0.5'],
    ['scale', null],
    ['scale', Infinity],
    ['mean', [0.5, 0.5]],
    ['mean', [0.5, 0.5, 0.5, 0.5]],
    ['mean', [0.5, '0.5', 0.5]],
    ['mean', [0.5, NaN, 0.5]],
    ['mean', 0.5],
    ['std', [1, 1]],
    ['std', [1, 0, 1]],
    ['std', [1, -1, 1]],
    ['std', [1, 1, '1']],
    ['std', 1],
  ];
  for (const [key, value] of badPre) {
    it(`rejects preprocessing.${key}: ${String(value)}`, () => {
      assert.throws(
        () => parseModelConfig({ ...minimal, preprocessing: { [key]: value } }),
        (e: unknown) => e instanceof ModelConfigError && e.message.includes(`"${key}"`),
      );
    });
  }

  it('accepts negative means and a negative scale as plain numbers', () => {
    const c = parseModelConfig({ ...minimal, preprocessing: { mean: [-1, 0, 1], scale: -0.5 } });
    assert.deepEqual(c.normalisation.mean, [-1, 0, 1]);
    assert.equal(c.normalisation.scale, -0.5);
  });
});

describe('compareVersions', () => {
  it('compares numeric parts as numbers', () => {
    assert.ok(compareVersions('1.10', '1.9') > 0);
    assert.ok(compareVersions('1.9', '1.10') < 0);
    assert.ok(compareVersions('2.0', '1.0') > 0);
    assert.ok(compareVersions('1.0', '2.0') < 0);
    assert.ok(compareVersions('10', '9') > 0);
    assert.ok(compareVersions('1.2.10', '1.2.9') > 0);
  });

  it('finds equal versions equal', () => {
    assert.equal(compareVersions('1.0', '1.0'), 0);
    assert.equal(compareVersions('3', '3'), 0);
    assert.equal(compareVersions('1.01', '1.1'), 0, 'leading zeros do not matter in numeric parts');
  });

  it('treats -, _ and . alike as separators', () => {
    assert.equal(compareVersions('1-2', '1.2'), 0);
    assert.equal(compareVersions('1_2', '1.2'), 0);
    assert.ok(compareVersions('1-10', '1_9') > 0);
  });

  it('orders a longer version after its prefix', () => {
    assert.ok(compareVersions('1.0.1', '1.0') > 0);
    assert.ok(compareVersions('1', '1.0') < 0);
  });

  it('sorts a list into the expected order', () => {
    const sorted = ['1.10', '2.0', '1.9', '1.0', '1.2'].sort(compareVersions);
    assert.deepEqual(sorted, ['1.0', '1.2', '1.9', '1.10', '2.0']);
  });

  it('is antisymmetric', () => {
    const vs = ['1.0', '1.10', '1.9', '2', 'beta', '1.a'];
    for (const a of vs) {
      for (const b of vs) assert.equal(Math.sign(compareVersions(a, b)), -Math.sign(compareVersions(b, a)) || 0, `${a} vs ${b}`);
    }
  });
});

describe('SAFE_NAME', () => {
  it('accepts plain model names and versions', () => {
    for (const name of ['mobilenet_v2', '1.0', 'resnet-18', 'A', '9', 'model.v2_final-1', 'a'.repeat(128)]) {
      assert.ok(SAFE_NAME.test(name), `${name} should be accepted`);
    }
  });

  it('rejects names that could escape a folder or confuse a URL', () => {
    for (const name of ['', '.', '..', '.hidden', 'a/b', '../a', 'a\\b', '%2e', '%2e%2e', 'a b', '-rf', '_x', 'a?b', 'a#b', 'é', 'a\nb', 'a'.repeat(129)]) {
      assert.ok(!SAFE_NAME.test(name), `${JSON.stringify(name)} should be rejected`);
    }
  });
});

describe('shortLabel', () => {
  it('takes the first synonym after the WordNet id, spaces as underscores', () => {
    assert.equal(shortLabel('n02123045 tabby, tabby cat'), 'tabby');
    assert.equal(shortLabel('n02123159 tiger cat'), 'tiger_cat');
    assert.equal(shortLabel('n02124075 Egyptian cat'), 'Egyptian_cat');
    assert.equal(shortLabel('n01484850 great white shark, white shark, man-eater'), 'great_white_shark');
  });

  it('works on a label with no WordNet id', () => {
    assert.equal(shortLabel('tabby cat, domestic cat'), 'tabby_cat');
    assert.equal(shortLabel('dog'), 'dog');
    assert.equal(shortLabel('  padded  '), 'padded');
  });

  it('only strips an id of n plus exactly eight digits at the start', () => {
    assert.equal(shortLabel('n0212304 short id'), 'n0212304_short_id');
    assert.equal(shortLabel('cat n02123045'), 'cat_n02123045');
  });
});

describe("a model's own handler in config.json", () => {
  const base = { input_name: 'input', output_name: 'output' };

  it('"handler": "handler.js" names it; its items are the decoded image unless "handler_input" says bytes', () => {
    const image = parseModelConfig({ ...base, handler: 'handler.js' });
    assert.equal(image.handler, 'custom');
    assert.equal(image.handlerInput, 'image');
    assert.equal(parseModelConfig({ ...base, handler: 'handler.js', handler_input: 'bytes' }).handlerInput, 'bytes');
    assert.equal(parseModelConfig(base).handlerInput, null);
  });

  it('refuses another file name, "custom" spelled out, an unknown input, and "handler_input" for a built-in handler', () => {
    assert.throws(() => parseModelConfig({ ...base, handler: 'other.js' }), /or "handler.js"/);
    assert.throws(() => parseModelConfig({ ...base, handler: 'custom' }), ModelConfigError);
    assert.throws(() => parseModelConfig({ ...base, handler: 'handler.js', handler_input: 'text' }), /"image" or "bytes"/);
    assert.throws(() => parseModelConfig({ ...base, handler_input: 'bytes' }), /"handler_input" is for a model's own handler/);
  });
});
