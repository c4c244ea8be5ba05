// Who Chromium runs as and how its sandbox failure is read: pure parts, no browser.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseRunAs, confinementOf, sandboxFailure, SandboxUnavailableError } from '../../server/chromium/chromium-sandbox.js';

const users: Record<string, { uid: number; gid: number }> = { 'webgpu-inference': { uid: 999, gid: 995 }, nobody: { uid: 65534, gid: 65534 }, root: { uid: 0, gid: 0 }, toor: { uid: 0, gid: 10 } };
const lookup = (name: string) => users[name] ?? null;

describe('chooseRunAs', () => {
  it('takes the install script user, else nobody, else none', () => {
    assert.deepEqual(chooseRunAs(null, 'prefer', lookup), { name: 'webgpu-inference', uid: 999, gid: 995 });
    assert.deepEqual(
      chooseRunAs(null, 'prefer', (n: string) => (n === 'nobody' ? users[n]! : null)),
      { name: 'nobody', uid: 65534, gid: 65534 },
    );
    assert.equal(
      chooseRunAs(null, 'prefer', () => null),
      null,
    );
    assert.deepEqual(chooseRunAs(null, 'off', lookup), { name: 'webgpu-inference', uid: 999, gid: 995 }, 'off still drops root');
  });

  it('takes the configured user, and refuses one that is missing, or root unless the sandbox is off', () => {
    assert.deepEqual(chooseRunAs('nobody', 'require', lookup), { name: 'nobody', uid: 65534, gid: 65534 });
    assert.throws(
      () => chooseRunAs('nosuchuser', 'prefer', lookup),
      (e: Error) => e instanceof SandboxUnavailableError && /chromium_user nosuchuser does not exist/.test(e.message),
    );
    for (const setting of ['prefer', 'require'] as const) {
      assert.throws(() => chooseRunAs('toor', setting, lookup), /chromium_user toor is root, and Chromium refuses its sandbox to root/);
    }
    assert.equal(chooseRunAs('root', 'off', lookup), null, 'root with the sandbox off: Chromium runs as the server does');
  });
});

describe('sandboxFailure', () => {
  it("finds Chromium's line when it has no usable sandbox, without its log prefix", () => {
    const stderr = [
      '[1207/104740.294450:WARNING:device/bluetooth/dbus/bluez_dbus_manager.cc:209] Floss manager service not available',
      '[1207/104747.100468:ERROR:content/browser/zygote_host/zygote_host_impl_linux.cc:130] No usable sandbox! If this is a Debian system, please install the chromium-sandbox package to solve this problem.',
    ].join('\n');
    assert.equal(sandboxFailure(stderr), 'No usable sandbox!');
  });

  it('is null for other start failures, which must not turn the sandbox off', () => {
    assert.equal(sandboxFailure('[1207/1:ERROR:x.cc:1] Missing X server or $DISPLAY\n'), null);
    assert.equal(sandboxFailure('error while loading shared libraries: libnss3.so: cannot open shared object file'), null);
    assert.equal(sandboxFailure(''), null);
  });
});

describe('confinementOf', () => {
  it("reads this process's uid, seccomp mode and no_new_privs from /proc", () => {
    const c = confinementOf(process.pid);
    assert.equal(c.uid, process.getuid!());
    assert.ok(c.seccomp === 0 || c.seccomp === 1 || c.seccomp === 2);
    assert.equal(typeof c.noNewPrivs, 'boolean');
  });

  it('answers nulls for a process that is gone', () => {
    assert.deepEqual(confinementOf(2 ** 22 + 1), { uid: null, seccomp: null, noNewPrivs: null });
  });
});
