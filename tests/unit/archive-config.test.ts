import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { archiveConfig, checkedConfig, type ConfigSources, needsIoNames } from '../../server/store/archive/archive-config.js';
import { archiveRefusal } from '../support/archive-refusal.js';
import { NESTED, scalarOf, topLevelScalars } from '../../server/store/archive/top-level-yaml.js';

const sources = (over: Partial<ConfigSources> = {}): ConfigSources => ({
  archive: 'm.mar',
  handler: { kind: 'built-in', name: 'image_classifier' },
  description: null,
  configJson: null,
  setupConfig: null,
  modelConfigYaml: null,
  labelsFile: null,
  ...over,
});

describe('archiveConfig', () => {
  it("gives an image classifier TorchServe's preprocessing and answer", () => {
    const { config, notes } = archiveConfig(sources({ labelsFile: 'labels.txt' }));
    assert.deepEqual(config, {
      description: 'TorchServe model archive m.mar',
      output_format: 'torchserve',
      output: 'logits',
      topk: 5,
      preprocessing: { resize: 256, crop: 224, resampling: 'pil', channel_order: 'RGB', layout: 'NCHW', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      handler: 'image_classifier',
      labels: 'labels.txt',
    });
    assert.deepEqual(notes, []);
    assert.ok(needsIoNames(config));
    const checked = checkedConfig({ ...config, input_name: 'input', output_name: 'output' });
    assert.equal(checked.resampling, 'pil');
    assert.equal(checked.outputFormat, 'torchserve');
  });

  it('carries another built-in handler by name, and a JavaScript one as handler.js', () => {
    const detector = archiveConfig(sources({ handler: { kind: 'built-in', name: 'object_detector' } })).config;
    assert.equal(detector['handler'], 'object_detector');
    assert.equal(detector['preprocessing'], undefined, "the image classifier's resize and normalisation are its own");
    assert.equal(archiveConfig(sources({ handler: { kind: 'javascript', file: 'pre.js' } })).config['handler'], 'handler.js');
  });

  it("gives a text classifier the archive's tokenizer.json, unless its own config names one", () => {
    const text = { kind: 'built-in', name: 'text_classifier' } as const;
    assert.equal(archiveConfig(sources({ handler: text, tokenizerFile: 'tokenizer.json' })).config['tokenizer'], 'tokenizer.json');
    assert.equal(archiveConfig(sources({ handler: text, tokenizerFile: 'tokenizer.json', configJson: { tokenizer: 'mine.json' } })).config['tokenizer'], 'mine.json');
    assert.equal(archiveConfig(sources({ tokenizerFile: 'tokenizer.json' })).config['tokenizer'], undefined, 'an image model has no use for it');
  });

  it("layers the archive's config.json, setup_config.json and model-config.yaml, later ones winning", () => {
    const { config, notes } = archiveConfig(
      sources({
        configJson: { input_name: 'pixels', topk: 10, default_version: '9', preprocessing: { resize: 300, crop: 299 } },
        setupConfig: { topk: 3, batch_size: 2, output_name: 'probs', output: 'probabilities', mode: 'sequence_classification', max_length: 128 },
        modelConfigYaml: 'minWorkers: 2\nmaxWorkers: 4\nbatchSize: 8   # per worker\nmaxBatchDelay: 50\nresponseTimeout: 30\ndeviceType: "gpu"\nhandler:\n  topk: 1\n',
      }),
    );
    assert.equal(config['input_name'], 'pixels');
    assert.equal(config['output_name'], 'probs');
    assert.equal(config['output'], 'probabilities');
    assert.equal(config['topk'], 3);
    assert.equal(config['batch_size'], 8);
    assert.equal(config['max_batch_delay'], 50);
    assert.equal(config['response_timeout'], 30);
    assert.equal(config['workers'], 2);
    assert.equal(config['default_version'], undefined, 'an archive is one version');
    assert.deepEqual(config['preprocessing'], {
      resize: 300,
      crop: 299,
      resampling: 'pil',
      channel_order: 'RGB',
      layout: 'NCHW',
      scale: 1 / 255,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    assert.deepEqual(notes, ['setup_config.json keys this server does not use, ignored: mode, max_length', 'model-config.yaml keys this server does not use, ignored: deviceType, handler']);
    assert.ok(!needsIoNames(config));
  });

  it('ignores model-config.yaml values TorchServe ignores: not positive, or minWorkers above maxWorkers', () => {
    const { config, notes } = archiveConfig(sources({ modelConfigYaml: 'batchSize: 0\nminWorkers: 2\nresponseTimeout: soon\n' }));
    assert.equal(config['batch_size'], undefined);
    assert.equal(config['workers'], undefined);
    assert.equal(config['response_timeout'], undefined);
    assert.equal(notes.length, 3);
  });

  it("refuses what is not an object, and values out of the server's bounds", () => {
    assert.throws(() => archiveConfig(sources({ setupConfig: [1] })), /setup_config\.json must hold an object/);
    assert.throws(() => archiveConfig(sources({ configJson: 'x' })), /config\.json must hold an object/);
    const { config } = archiveConfig(sources({ modelConfigYaml: 'batchSize: 500\n' }));
    assert.throws(() => checkedConfig({ ...config, input_name: 'i', output_name: 'o' }), archiveRefusal(/its config: "batch_size" must be an integer from 1 to 64/));
  });
});

describe('topLevelScalars', () => {
  it('reads top-level scalars, skipping nested values, lists, comments and quotes', () => {
    const found = topLevelScalars(
      [
        '# model-config.yaml',
        '---',
        'minWorkers: 1',
        "deviceType: 'gpu'",
        'responseTimeout: 120 # seconds',
        'ratio: 0.5',
        'on: true',
        'none: ~',
        'handler:',
        '  max_length: 50',
        'deviceIds: [0, 1]',
        '- 3',
        '"quoted key": x',
      ].join('\n'),
    );
    assert.deepEqual(Object.fromEntries(found), { minWorkers: 1, deviceType: 'gpu', responseTimeout: 120, ratio: 0.5, on: true, none: null, handler: NESTED, deviceIds: NESTED, 'quoted key': 'x' });
    assert.equal(scalarOf('"a # b"'), 'a # b');
    assert.equal(scalarOf('|'), NESTED);
    assert.equal(scalarOf('# only a comment'), NESTED);
  });
});
