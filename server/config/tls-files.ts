// The key and certificate of the https:// listeners (and of gRPC with enable_grpc_ssl), read at
// start from the files the settings name.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';
import type { TlsFiles } from './server-config.js';

function readText(setting: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    // Node's message ends with the call and the path, which the line gives once already.
    throw new ConfigError(`${setting} "${file}" cannot be read: ${(e as Error).message.replace(/, \w+ '.*'$/s, '')}`);
  }
}

/**
 * The key and certificate of the https:// listeners, read and checked before anything listens: a
 * file that cannot be read, holds no PEM, or a key that is not the certificate's stops the start
 * with one line that names the setting and the file.
 */
export function readTls({ privateKeyFile, certificateFile }: TlsFiles): { key: string; cert: string } {
  const key = readText('private_key_file', privateKeyFile);
  const cert = readText('certificate_file', certificateFile);
  const notPem = (setting: string, file: string, what: string) => new ConfigError(`${setting} "${file}" is not a PEM ${what} (-----BEGIN ...-----)`);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(key)) {
    throw new ConfigError(`private_key_file "${privateKeyFile}" is encrypted: give the key without a passphrase`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw notPem('private_key_file', privateKeyFile, 'private key');
  if (!/-----BEGIN CERTIFICATE-----/.test(cert)) throw notPem('certificate_file', certificateFile, 'certificate');
  let privateKey: ReturnType<typeof createPrivateKey>;
  let certificate: X509Certificate;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw notPem('private_key_file', privateKeyFile, 'private key');
  }
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw notPem('certificate_file', certificateFile, 'certificate');
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(`private_key_file "${privateKeyFile}" is not the key of the certificate in certificate_file "${certificateFile}"`);
  }
  return { key, cert };
}
