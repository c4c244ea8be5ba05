// What a runtime page may load and reach, as the Content-Security-Policy header the runtime
// listener sends with every file: its own origin only. A model's own handler.js runs in that page
// (browser-runtime/handlers/custom-handler.ts), so this is the first wall of its sandbox; what CSP
// does not cover (navigations, new windows, WebRTC) is page-network-guard.ts's and
// chromium-flags.ts's (docs/handlers.md, "The sandbox").

/** Each directive with its reason; everything not named falls back to `default-src 'none'`. */
const DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  // Nothing by default: images, styles, fonts, media, frames, objects, manifests.
  ['default-src', "'none'"],
  // The page's scripts, onnxruntime-web's modules and the model's handler.js, all served here;
  // 'wasm-unsafe-eval' lets onnxruntime compile its WASM, and allows no eval of text.
  ['script-src', "'self' 'wasm-unsafe-eval'"],
  // The channel to the gateway (__input/) and the model file; 'self' also limits WebSocket and
  // EventSource to this origin.
  ['connect-src', "'self'"],
  // onnxruntime's WASM threads: its own module as a worker, or a blob: of it. A blob: worker
  // inherits this policy.
  ['worker-src', "'self' blob:"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-ancestors', "'none'"],
];

export const RUNTIME_CONTENT_SECURITY_POLICY = DIRECTIVES.map(([name, value]) => `${name} ${value}`).join('; ');
