// Uint8Array.prototype.toBase64 is native in current Chromium; the fallback keeps the same code
// usable in older browsers and in Node's unit tests. (Inputs reach the page as bytes, never base64.)

export function encodeBase64(bytes: Uint8Array): string {
  const native = (bytes as unknown as { toBase64?: () => string }).toBase64;
  if (native) return native.call(bytes);
  let bin = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    bin += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(bin);
}
