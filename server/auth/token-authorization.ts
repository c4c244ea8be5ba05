// Whether the APIs ask for a key, and which keys: TorchServe's token authorization.

import type { ServerConfig } from '../config/server-config.js';
import { isLoopback, isLoopbackHost, makeKeys, type ApiKeys } from './auth.js';
import { writeKeyFile } from './key-file.js';

/** Unless set, on exactly when some API (HTTP or gRPC) is bound to an address other than loopback. */
export function tokenAuthorizationOn(config: Pick<ServerConfig, 'auth' | 'listeners' | 'grpc'>): boolean {
  const { listeners, grpc } = config;
  return (
    config.auth.tokenAuthorization ??
    !([listeners.inference, listeners.management, listeners.metrics].every(isLoopback) && [grpc?.inference, grpc?.management].every((a) => !a || isLoopbackHost(a.host)))
  );
}

/** The keys, written to key_file, when token authorization is on; null when it is off. */
export function startTokenAuthorization(config: ServerConfig): ApiKeys | null {
  if (!tokenAuthorizationOn(config)) return null;
  const keys = makeKeys(config.auth.givenKeys);
  writeKeyFile(config.auth.keyFile, keys);
  return keys;
}
