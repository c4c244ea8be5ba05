// A self-signed certificate for 127.0.0.1, made at test time by the openssl command
// (scripts/ensure-system-packages.sh installs it), valid for a day, in a temp folder.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCertificate {
  /** The unencrypted PEM private key's path. */
  key: string;
  /** The PEM certificate's path: what a client trusts, and nothing else. */
  cert: string;
  dir: string;
  remove(): void;
}

export function selfSignedCertificate(): TestCertificate {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'];
  try {
    execFileSync('openssl', [...args, '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make a test certificate (bash scripts/ensure-system-packages.sh installs it): ${(e as Error).message}`);
  }
  return { key, cert, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
