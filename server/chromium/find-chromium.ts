import { accessSync, constants } from 'node:fs';

// Debian's chromium-headless-shell first: the headless browser alone, without the desktop
// browser's UI. It gives the same answers with fewer processes, less memory and a
// faster start (BENCHMARKS.md has the comparison). The binary itself, not the wrapper
// script in /usr/bin, so the process the server starts and stops is the browser.
const CANDIDATES = [
  '/usr/lib/chromium/chromium-headless-shell',
  '/usr/bin/chromium-headless-shell',
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome-stable',
  '/usr/bin/google-chrome',
];

export class ChromiumNotFoundError extends Error {}

/** The browser to drive: the configured one, else the system's. Never a downloaded one. */
export function findChromium(configured: string | null): string {
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (configured) {
    if (executable(configured)) return configured;
    throw new ChromiumNotFoundError(`chrome_path / CHROME_PATH points at ${configured}, which is not an executable file`);
  }
  const found = CANDIDATES.find(executable);
  if (found) return found;
  throw new ChromiumNotFoundError('no Chromium found: install it (Debian/Ubuntu: apt-get install chromium-headless-shell, or chromium) or set CHROME_PATH to a Chromium or Chrome executable');
}
