// The server beside the native peer: the ratios the performance targets are stated in, each from
// the medians across runs of the two figures it compares. Pure: tested without a run.

import type { Target } from './report.js';

/** `median(key)`: a figure's median across runs, NaN where it was not measured. */
export function peerTargets(median: (key: string) => number): Target[] {
  return [
    {
      name: '(p1) null model c=32: server images/s / native peer images/s',
      value: median('null.c32.imagesPerS') / median('peer.null.c32.imagesPerS'),
      unit: '',
      op: '>=',
      bound: 0.9,
    },
    { name: '(p2) null model c=1: server p50 minus native peer p50', value: median('null.c1.p50') - median('peer.null.c1.p50'), unit: 'ms', op: '<=', bound: 2 },
    {
      name: '(p3) null model c=32: server CPU per image (gateway + Chromium) / native peer CPU per image',
      value: median('null.c32.cpuPerImage.total') / median('peer.null.c32.cpuPerImage.total'),
      unit: '',
      op: '<=',
      bound: 1.3,
    },
    {
      name: '(p4) MobileNetV2 c=32: server images/s / native peer images/s',
      value: median('server.c32.imagesPerS') / median('peer.mobilenet.c32.imagesPerS'),
      unit: '',
      op: null,
      bound: null,
    },
  ];
}
