// Chromium's command line, one reason per switch. The sandbox is not here: browser-launch.ts
// decides it (chromium-sandbox.ts says why), and adds what belongs to one launch (the profile
// folder, headless mode, the DevTools pipe).
//
// chromiumFlags() is for every launch, the server's and the tools'; ownLaunchFlags() only for
// the server's own, in place of the defaults a launcher library brings.

export function chromiumFlags(): string[] {
  return [
    // The machine may have no network: every background fetch would fail and retry.
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    '--no-first-run',
    '--disable-default-apps',
    '--mute-audio',
    // Pages of a server must not be slowed down for being "in the background".
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
    // WebGPU on Linux is behind this switch.
    '--enable-unsafe-webgpu',
    // A hardware adapter through Vulkan where there is a GPU (the setup public reports use on NVIDIA)...
    '--enable-features=Vulkan',
    '--use-angle=vulkan',
    '--disable-vulkan-surface',
    // ...and SwiftShader as the fallback adapter where there is none (asked for explicitly by the page).
    '--enable-unsafe-swiftshader',
    // A model's own handler.js runs in its page, kept to the runtime listener's origin
    // (docs/handlers.md, "The sandbox"). window.open would start a page outside the DevTools
    // session that refuses other requests (page-network-guard.ts): no page may open another.
    '--block-new-web-contents',
    // Content-Security-Policy does not cover WebRTC: no UDP but through a proxy (the server sets
    // none), and no local addresses in ICE candidates.
    '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
  ];
}

/**
 * Bounds on each page's renderer, from the settings. V8's heap limit applies to every renderer
 * (Chromium passes --js-flags to each): a page that allocates past it dies of V8's out-of-memory
 * alone, and is reloaded like any crashed page, while other models' pages keep serving.
 * ArrayBuffers and WASM memory are outside V8's heap and not bounded by it (docs/handlers.md).
 */
export function pageLimitFlags({ heapMb }: { heapMb: number }): string[] {
  return [`--js-flags=--max-old-space-size=${heapMb}`];
}

/**
 * What a launcher library would otherwise add (browser-launch.ts starts Chromium itself; tools
 * that launch through puppeteer or Playwright get their library's own defaults instead).
 */
export function ownLaunchFlags(): string[] {
  return [
    // Background services that fetch or compute for a browsing user; a server's pages need none.
    '--disable-features=Translate,MediaRouter,OptimizationHints,AcceptCHFrame',
    '--disable-client-side-phishing-detection',
    '--disable-component-extensions-with-background-pages',
    '--disable-extensions',
    '--metrics-recording-only',
    // A crashed renderer is reported over DevTools and replaced; no dump is written or sent.
    '--disable-breakpad',
    '--disable-crash-reporter',
    // Containers give /dev/shm 64 MB by default, less than a few batches in flight need: shared
    // memory goes to /tmp instead of failing.
    '--disable-dev-shm-usage',
    // A page busy in a long WASM run is working, not hung.
    '--disable-hang-monitor',
    // No desktop keyring to ask (and no prompt to wait on) for a profile that is thrown away.
    '--password-store=basic',
    '--use-mock-keychain',
  ];
}

/**
 * Chromium reads only the last --enable-features and the last --disable-features it is given:
 * every one of each becomes one, so an operator's `chromium_args` add features to ours.
 */
export function mergeFeatureSwitches(args: readonly string[]): string[] {
  const lists = new Map<string, string[]>([
    ['--enable-features=', []],
    ['--disable-features=', []],
  ]);
  const rest: string[] = [];
  for (const arg of args) {
    const prefix = [...lists.keys()].find((p) => arg.startsWith(p));
    if (prefix) lists.get(prefix)!.push(...arg.slice(prefix.length).split(',').filter(Boolean));
    else rest.push(arg);
  }
  for (const [prefix, features] of lists) if (features.length) rest.push(`${prefix}${[...new Set(features)].join(',')}`);
  return rest;
}

/**
 * The switches for tools that start Chromium through puppeteer's own launch (benchmarks, the GPU
 * check, the demo page's browser in tests): they run it as the invoking user, and as root Chromium
 * refuses its sandbox. They load only the project's own pages.
 */
export function toolChromiumFlags(): string[] {
  return [...chromiumFlags(), ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])];
}
