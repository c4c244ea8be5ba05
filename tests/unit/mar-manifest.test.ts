import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { archiveRefusal } from '../support/archive-refusal.js';
import { defaultModelName, handlerOf, parseManifest } from '../../server/store/archive/mar-manifest.js';
import { manifestOf } from '../support/mar-archive.js';

const refused = (json: unknown, pattern: RegExp) => assert.throws(() => parseManifest(json), archiveRefusal(pattern));

describe('parseManifest', () => {
  it("reads torch-model-archiver's manifest", () => {
    const m = parseManifest({
      createdOn: '01/02/2024 10:00:00',
      runtime: 'python',
      model: { modelName: 'squeezenet1_1', serializedFile: 'squeezenet.onnx', handler: 'image_classifier', modelVersion: '2.1', configFile: 'model-config.yaml', requirementsFile: 'requirements.txt' },
      archiverVersion: '0.12.0',
    });
    assert.deepEqual(m, {
      modelName: 'squeezenet1_1',
      modelVersion: '2.1',
      serializedFile: 'squeezenet.onnx',
      handler: { kind: 'built-in', name: 'image_classifier' },
      configFile: 'model-config.yaml',
      description: null,
    });
  });

  it("fills TorchServe's defaults: version 1.0, no name (the file gives it at start), the image classifier, python runtime", () => {
    const m = parseManifest({ model: { serializedFile: 'm.onnx' } });
    assert.equal(m.modelName, null);
    assert.equal(m.modelVersion, '1.0');
    assert.deepEqual(m.handler, { kind: 'built-in', name: 'image_classifier' });
  });

  it('takes a JavaScript handler by its file name', () => {
    assert.deepEqual(parseManifest(manifestOf({ handler: 'handler.js' })).handler, { kind: 'javascript', file: 'handler.js' });
  });

  it('refuses a PyTorch model and says how to export it to ONNX', () => {
    for (const file of ['model.pt', 'resnet18-f37072fd.pth', 'model.torchscript', 'pytorch_model.bin']) {
      refused(manifestOf({ serializedFile: file }), new RegExp(`"${file.replace('.', '\\.')}" is a PyTorch model\\. This server runs ONNX models.*torch\\.onnx\\.export`));
    }
    refused(manifestOf({ serializedFile: 'model.tflite' }), /is not an ONNX model \(\.onnx\)/);
    refused({ model: { modelName: 'm', handler: 'image_classifier' } }, /names no serializedFile/);
  });

  it('refuses a Python handler, naming it, what runs here and how to get there', () => {
    for (const handler of ['handler.py', 'my_handler:handle', 'custom_module', 'base_handler', 'dali_image_classifier']) {
      refused(
        manifestOf({ handler }),
        /handler ".*" is Python, which this server does not run\. .*image_classifier, object_detector, image_segmenter, text_classifier.*handler\.js.*torch\.onnx\.export/,
      );
    }
    refused(manifestOf({ handler: 'handler.py', serializedFile: 'model.pt' }), /"model\.pt" is a PyTorch model; its handler "handler\.py" is Python/);
  });

  it('refuses names and versions that cannot be folder names, and what is not a manifest', () => {
    refused(manifestOf({ modelName: '../evil' }), /modelName "\.\.\/evil" may hold/);
    refused(manifestOf({ version: '1.0/../../x' }), /modelVersion .* may hold/);
    refused({ ...manifestOf({}), runtime: 'LSP' }, /runtime "LSP" is not one of TorchServe's/);
    refused([], /must hold an object/);
    refused({ runtime: 'python' }, /no "model" object/);
    refused({ model: { modelName: 7, serializedFile: 'm.onnx' } }, /"modelName" must be a string/);
  });
});

describe('handlerOf', () => {
  it('tells built-in names, JavaScript files and Python apart', () => {
    assert.deepEqual(handlerOf(null), { kind: 'built-in', name: 'image_classifier' });
    assert.deepEqual(handlerOf('object_detector'), { kind: 'built-in', name: 'object_detector' });
    assert.deepEqual(handlerOf('text_classifier'), { kind: 'built-in', name: 'text_classifier' });
    assert.deepEqual(handlerOf('image_segmenter'), { kind: 'built-in', name: 'image_segmenter' });
    assert.deepEqual(handlerOf('pre.js'), { kind: 'javascript', file: 'pre.js' });
    assert.equal(handlerOf('handler.js:handle').kind, 'python');
    assert.equal(handlerOf('Image_Classifier').kind, 'python');
  });
});

describe('defaultModelName', () => {
  it("is TorchServe's: the file name without its extension, other characters than word ones made '_'", () => {
    assert.equal(defaultModelName('squeezenet1_1.mar'), 'squeezenet1_1');
    assert.equal(defaultModelName('my-model.v2.mar'), 'my_model_v2');
    assert.equal(defaultModelName('densenet161.mar'), 'densenet161');
  });
});
