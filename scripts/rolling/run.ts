// `npm run test:rolling [-- --kill-chromium] [-- --concurrency 16]`: what Kubernetes does to a
// Deployment of this server, with real parts: three replicas of the real server behind HAProxy,
// which checks each on /v2/health/ready as a readiness probe would, under steady load for the
// whole run, every answer checked.
//   - default: a rolling restart, one replica after another: SIGTERM, wait for it to exit, start
//     it again, wait until HAProxy sees it ready, then the next;
//   - --kill-chromium: one replica's browser process is killed mid-load; the server relaunches it
//     while HAProxy routes around the replica.
// Passes on zero failed or wrong answers (the Chromium kill: none outside the moments from the
// kill until HAProxy has seen the replica not ready) and every replica serving again at the end. Writes its section of RELIABILITY.md.

import { mkdtempSync, rmSync } from 'node:fs';
import { writeSection } from '../report-section.js';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { sleep } from '../bench/stats.js';
import { admin, CHECK, ensureHaproxy, haproxyConfig, serverStats, startHaproxy, waitStatus } from './haproxy.js';
import { freePort, REPLICA_FLAGS, Replica } from './replica.js';
import { steadyLoad } from './steady-load.js';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(argv[i + 1]);
};
const killChromium = flag('kill-chromium');
const concurrency = option('concurrency', 16);
const warmS = option('warm', 10);
// What a preStop hook `sleep` does in the pod spec: the replica leaves the balancer first (here by
// HAProxy's admin socket, as the endpoints controller removes a terminating pod from the Service)
// and only then gets SIGTERM. 0: SIGTERM at once, the replica's own readiness the only signal.
// --shutdown-delay S: no preStop; the server itself fails readiness at SIGTERM and serves on for S
// seconds before its drain (the shutdown_delay setting), which HAProxy's checks see in time.
const shutdownDelayS = option('shutdown-delay', 0);
const preStopS = shutdownDelayS > 0 ? 0 : option('pre-stop', 2);

const haproxyVersion = ensureHaproxy();
const dir = mkdtempSync(path.join(os.tmpdir(), 'rolling-'));
const replicas = await Promise.all(['r1', 'r2', 'r3'].map((n) => Replica.create(n, shutdownDelayS > 0 ? ['--shutdown-delay', String(shutdownDelayS)] : [])));
const frontPort = await freePort();
const config = haproxyConfig(
  dir,
  frontPort,
  replicas.map((r) => ({ name: r.name, port: r.port })),
);
const t0 = performance.now();
const events: string[] = [];
const at = () => ((performance.now() - t0) / 1000).toFixed(1);
const event = (what: string) => {
  events.push(`| ${at()} s | ${what} |`);
  console.log(`${at()} s: ${what}`);
};

for (const r of replicas) r.start();
const haproxy = startHaproxy(dir);
let load: ReturnType<typeof steadyLoad> | null = null;
let ok = false;
// --kill-chromium: answers may fail from the kill until HAProxy's next check has seen the replica
// not ready (one interval, and the answers already sent to it), and at no other time.
let failureWindow: { from: number; to: number } | null = null;
let loadT0 = 0;
try {
  await Promise.all(
    replicas.map(async (r) => {
      await r.waitReady();
      await waitStatus(dir, r.name, 'UP');
    }),
  );
  event('all three replicas ready');
  loadT0 = performance.now();
  load = steadyLoad(`http://127.0.0.1:${frontPort}`, concurrency);
  event(`load started: ${concurrency} clients`);
  await sleep(warmS * 1000);
  if (killChromium) {
    const r = replicas[0]!;
    const pid = r.chromiumPid();
    if (!pid) throw new Error(`no Chromium found under ${r.name}`);
    process.kill(pid, 'SIGKILL');
    const killedAt = (performance.now() - loadT0) / 1000;
    event(`${r.name}: Chromium (pid ${pid}) killed`);
    await waitStatus(dir, r.name, 'DOWN', 30_000).then(
      () => event(`${r.name}: HAProxy sees it not ready`),
      () => event(`${r.name}: HAProxy never saw it not ready`),
    );
    failureWindow = { from: killedAt, to: (performance.now() - loadT0) / 1000 + CHECK.interMs / 1000 };
    await waitStatus(dir, r.name, 'UP');
    event(`${r.name}: ready again (HAProxy sees it up)`);
  } else {
    for (const r of replicas) {
      if (preStopS > 0) {
        await admin(dir, `set server replicas/${r.name} state drain`);
        event(`${r.name}: out of the balancer (drain); pre-stop wait ${preStopS} s`);
        await sleep(preStopS * 1000);
      }
      event(`${r.name}: SIGTERM`);
      const ms = await r.stop();
      event(`${r.name}: exited after ${(ms / 1000).toFixed(1)} s`);
      await waitStatus(dir, r.name, 'DOWN');
      // A new pod is a new endpoint: in the balancer, not served until its checks pass.
      if (preStopS > 0) await admin(dir, `set server replicas/${r.name} state ready`);
      r.start();
      await r.waitReady();
      await waitStatus(dir, r.name, 'UP');
      event(`${r.name}: started again and ready (HAProxy sees it up)`);
    }
  }
  await sleep(warmS * 1000);
  const figures = await load.stop();
  load = null;
  event(`load stopped`);
  const stats = await serverStats(dir);
  const served = await Promise.all(replicas.map((r) => r.served().catch(() => 0)));
  const allServe = served.every((n) => n > 0);
  const window = failureWindow as { from: number; to: number } | null;
  const outside = figures.failures.filter((f) => !window || f.at < window.from || f.at > window.to).length;
  ok = outside === 0 && allServe;

  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const heading = killChromium
    ? "## One replica's Chromium killed under load, behind HAProxy"
    : `## A rolling restart under load, behind HAProxy: ${shutdownDelayS > 0 ? 'SIGTERM with shutdown_delay' : preStopS > 0 ? 'out of the balancer, then SIGTERM' : 'SIGTERM only'}`;
  const byWhat = new Map<string, number>();
  for (const f of figures.failures) byWhat.set(f.what, (byWhat.get(f.what) ?? 0) + 1);
  const lines = [
    heading,
    '',
    `Written by \`npm run test:rolling${argv.length ? ` -- ${argv.join(' ')}` : ''}\` (scripts/rolling/) on ${new Date().toISOString()}: ${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${haproxyVersion}.`,
    `Three replicas of the real server (\`bin/webgpu-inference-server ${REPLICA_FLAGS.join(' ')}\`, loopback ports), behind HAProxy checking each on \`GET ${CHECK.path}\` every ${CHECK.interMs / 1000} s (fall ${CHECK.fall}, rise ${CHECK.rise}), with no retries and no redispatch, as a Kubernetes Service forwards once.${killChromium ? ' Pass: failures only between the kill and one check after HAProxy saw the replica not ready.' : preStopS > 0 ? ` Each replica is taken out of HAProxy (\`set server … state drain\`, as a terminating pod leaves the Service's endpoints) ${preStopS} s before its SIGTERM, as a preStop \`sleep ${preStopS}\` would.` : shutdownDelayS > 0 ? ` Each replica gets SIGTERM while still in HAProxy, started with \`--shutdown-delay ${shutdownDelayS}\`: its readiness fails at once while it serves on for ${shutdownDelayS} s, then it drains.` : ' Each replica gets SIGTERM while still in HAProxy: only its readiness (503 from the SIGTERM on) takes it out.'} ${concurrency} clients POST kitten.jpg to \`/predictions/mobilenet_v2\` through it for the whole run; every answer must be 200 with the top class a tabby.`,
    '',
    '| figure | value |',
    '| --- | ---: |',
    `| result | ${ok ? 'pass' : 'FAIL'} |`,
    `| requests | ${figures.requests} |`,
    `| correct answers | ${figures.correct} |`,
    `| failed or wrong answers | ${figures.failures.length} |`,
    ...(window ? [`| of which outside the kill's window (${window.from.toFixed(1)} s to ${window.to.toFixed(1)} s of the load: the kill to one check after HAProxy saw it) | ${outside} |`] : []),
    `| longest gap a client saw between answers | ${(figures.longestGapMs / 1000).toFixed(2)} s |`,
    `| duration under load | ${figures.seconds.toFixed(0)} s (${(figures.correct / figures.seconds).toFixed(1)} answers/s) |`,
    `| requests HAProxy retried or redispatched | ${[...stats.values()].reduce((s, x) => s + x.retries + x.redispatches, 0)} |`,
    '',
    '| replica | answered through HAProxy (2xx), whole run | 5xx through HAProxy | connection / response errors | predictions served by its last process (ts_inference_requests_total) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...replicas.map((r, i) => {
      const s = stats.get(r.name);
      return `| ${r.name} | ${s?.http2xx ?? 0} | ${s?.http5xx ?? 0} | ${s?.connectionErrors ?? 0} / ${s?.responseErrors ?? 0} | ${served[i]} |`;
    }),
    '',
    '| time | event |',
    '| ---: | --- |',
    ...events,
    '',
  ];
  if (byWhat.size) {
    lines.push('| failures | count | first at | last at |', '| --- | ---: | ---: | ---: |');
    for (const [what, n] of byWhat) {
      const these = figures.failures.filter((f) => f.what === what);
      lines.push(`| ${what.replaceAll('|', '/')} | ${n} | ${these[0]!.at.toFixed(1)} s | ${these.at(-1)!.at.toFixed(1)} s |`);
    }
    lines.push('', '(times from the start of the load; the events above are from the start of the script)', '');
  }
  const section = lines.join('\n');
  console.log(`\nHAProxy configuration:\n${config}\n${section}`);
  writeSection(path.join(PROJECT_ROOT, 'RELIABILITY.md'), heading, section);
} finally {
  await load?.stop();
  await Promise.all(replicas.map((r) => r.stop()));
  haproxy.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
