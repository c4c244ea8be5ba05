// Chromium reads only the last --enable-features and --disable-features: an operator's
// chromium_args must add to ours, not replace them.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumFlags, mergeFeatureSwitches, ownLaunchFlags, pageLimitFlags } from '../../server/chromium/chromium-flags.js';

describe('mergeFeatureSwitches', () => {
  it('makes one of each feature switch, ours first, without repeats, and keeps the rest in order', () => {
    const merged = mergeFeatureSwitches(['--a', '--enable-features=Vulkan', '--disable-features=Translate', '--b', '--enable-features=Foo,Vulkan', '--disable-features=Bar']);
    assert.deepEqual(merged, ['--a', '--b', '--enable-features=Vulkan,Foo', '--disable-features=Translate,Bar']);
  });

  it('adds no feature switch where none was given', () => {
    assert.deepEqual(mergeFeatureSwitches(['--headless']), ['--headless']);
  });

  it("keeps every one of the server's features when an operator adds one", () => {
    const merged = mergeFeatureSwitches([...ownLaunchFlags(), ...chromiumFlags(), '--enable-features=SharedArrayBuffer', '--disable-features=Foo']);
    assert.equal(merged.filter((a) => a.startsWith('--enable-features=')).length, 1);
    assert.ok(merged.includes('--enable-features=Vulkan,SharedArrayBuffer'));
    assert.ok(merged.includes('--disable-features=Translate,MediaRouter,OptimizationHints,AcceptCHFrame,Foo'));
  });
});

describe("the page's sandbox switches", () => {
  it('no page opens another, WebRTC sends no UDP but through a proxy, and each renderer has the heap limit of page_heap_mb', () => {
    assert.ok(chromiumFlags().includes('--block-new-web-contents'));
    assert.ok(chromiumFlags().includes('--force-webrtc-ip-handling-policy=disable_non_proxied_udp'));
    assert.deepEqual(pageLimitFlags({ heapMb: 512 }), ['--js-flags=--max-old-space-size=512']);
  });
});
