import { defineConfig } from '@playwright/test';
import { findChromium } from './dist/server/chromium/find-chromium.js';

// The system Chromium (scripts/ensure-system-packages.sh installs it); Playwright never downloads one.
const executablePath = findChromium(process.env['CHROME_PATH'] ?? null);
const PORT = Number(process.env['E2E_PORT'] ?? 18380);

export default defineConfig({
  testDir: 'tests/e2e',
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env['CI'],
  reporter: [['list']],
  // Every wait is a bound on a hang, generous so that a slow or busy machine passes too: none is
  // a verdict on speed (that is `npm run bench`).
  timeout: 240_000,
  expect: { timeout: 60_000 },
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: { executablePath, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'] },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: {
    // The real server on WASM, as `npm start` runs it (built by `npm test`'s pretest).
    command: `node dist/server/main.js --backend wasm --inference-address http://127.0.0.1:${PORT} --management-address http://127.0.0.1:${PORT + 1} --metrics-address http://127.0.0.1:${PORT + 2} --grpc-inference-port 0 --grpc-management-port 0`,
    url: `http://127.0.0.1:${PORT}/ping`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
