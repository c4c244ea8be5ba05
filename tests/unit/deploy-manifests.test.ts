// The manifests under deploy/, checked without a cluster and without kubectl: every YAML file
// parses; the kustomizations are built here (the few transformers they use: resources, patches
// merged by container, volume and env name, images); each Kubernetes object is validated by
// kubernetes-models and each KServe object against KServe's CRD schema (tests/fixtures/kserve-crd),
// read as closed so a misspelt field fails. Then against the server itself: the probes' paths
// are open GET routes of the Inference API, on its port, bound where the kubelet reaches it; the
// container's arguments, environment and config.properties are settings the server accepts; the
// grace period outlasts the drain; the resources are at least the benchmark's memory figures.
// Where kubectl is installed, the kustomizations built here are compared with `kubectl kustomize`.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { isLoopback, isLoopbackHost } from '../../server/auth/auth.js';
import { parseArgs, parseProperties, resolveConfig } from '../../server/config/config.js';
import { inferenceOperations } from '../../server/http/inference-app.js';
import { Metrics } from '../../server/ops/metrics.js';
import { metricsOperations } from '../../server/http/metrics-app.js';
import { ModelStore } from '../../server/store/model-store.js';
import type { Operation } from '../../server/http/operation.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { envOf, ROWS, SETTING_NAMED } from '../../server/config/settings.js';
import { FakeEngine } from '../support/fake-engine.js';
import { FIXTURES, MODELS } from '../support/paths.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any };

const DEPLOY = path.join(PROJECT_ROOT, 'deploy');
const KUBERNETES = path.join(DEPLOY, 'kubernetes');
const KSERVE = path.join(DEPLOY, 'kserve');
const rel = (file: string) => path.relative(PROJECT_ROOT, file);

/** Environment variables the manifests may set that are not the server's settings, and why. */
const OTHER_ENV: Record<string, string> = {
  NVIDIA_DRIVER_CAPABILITIES: "the NVIDIA container toolkit: which driver libraries it mounts (Vulkan needs 'graphics')",
  PROTOCOL: "KServe: the custom predictor's protocol, v2 (the server speaks both; KServe's routing reads it)",
  STORAGE_URI: "KServe: its storage initializer copies the URI's contents to /mnt/models",
};
/** TS_ variables and the other environment variables a setting is read from. */
const SETTING_ENV = new Set([...[...SETTING_NAMED.keys()].map(envOf), ...ROWS.flatMap(([, s]) => (s.env ? [s.env] : []))]);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}

function readObjects(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
    assert.deepEqual(doc.errors, [], `${rel(file)} parses`);
    const o = doc.toJS() as Obj | null;
    return o === null ? [] : [o];
  });
}

// --- kustomize, the part the overlays use -----------------------------------------------------

const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'patches', 'images']);
const isPlain = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);
const sameObject = (a: Obj, b: Obj) => a.apiVersion === b.apiVersion && a.kind === b.kind && a.metadata.name === b.metadata.name;

/**
 * A strategic merge as these patches need it: maps merge, lists of named items (containers, env,
 * volumes, volumeMounts, ports) merge by name, other lists are replaced. Directives ($patch,
 * $retainKeys, ...) are refused rather than half-applied.
 */
function strategicMerge(base: unknown, patch: unknown, at: string): unknown {
  if (isPlain(base) && isPlain(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      assert.ok(!k.startsWith('$'), `${at}: patch directive ${k} is not applied by this test`);
      out[k] = k in base ? strategicMerge(base[k], v, `${at}.${k}`) : v;
    }
    return out;
  }
  const named = (l: unknown): l is Array<{ name: string }> => Array.isArray(l) && l.every((x) => isPlain(x) && typeof x['name'] === 'string');
  if (named(base) && named(patch)) {
    // Items the base lacks come first, as kustomize puts them.
    const out = [...base];
    const added: Array<{ name: string }> = [];
    for (const item of patch) {
      const i = out.findIndex((x) => x.name === item.name);
      if (i < 0) added.push(item);
      else out[i] = strategicMerge(out[i], item, `${at}[${item.name}]`) as { name: string };
    }
    return [...added, ...out];
  }
  return patch;
}

/** Every `containers` and `initContainers` list in an object, wherever it is. */
function containerLists(o: unknown): Array<Array<Record<string, any>>> {
  if (Array.isArray(o)) return o.flatMap(containerLists);
  if (!isPlain(o)) return [];
  return Object.entries(o).flatMap(([k, v]) => ((k === 'containers' || k === 'initContainers') && Array.isArray(v) ? [v, ...containerLists(v)] : containerLists(v)));
}

/** Names of the files that some kustomization uses as a patch: partial objects. */
const patchFiles = new Set<string>();

function kustomize(dir: string): Obj[] {
  const k = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, any>;
  for (const key of Object.keys(k)) assert.ok(KUSTOMIZATION_FIELDS.has(key), `${rel(dir)}/kustomization.yaml: ${key} is not built by this test (keep to ${[...KUSTOMIZATION_FIELDS].join(', ')})`);
  let objects = ((k['resources'] ?? []) as string[]).flatMap((r) => {
    const p = path.join(dir, r);
    return statSync(p).isDirectory() ? kustomize(p) : readObjects(p);
  });
  for (const patch of (k['patches'] ?? []) as Array<Record<string, string>>) {
    assert.deepEqual(Object.keys(patch), ['path'], `${rel(dir)}: a patch is a file of objects to merge (no target, no inline patch)`);
    const file = path.join(dir, patch['path']!);
    patchFiles.add(file);
    for (const p of readObjects(file)) {
      const i = objects.findIndex((o) => sameObject(o, p));
      assert.ok(i >= 0, `${rel(file)}: patches ${p.kind} ${p.metadata.name}, which ${rel(dir)} does not have`);
      objects = objects.with(i, strategicMerge(objects[i], p, `${p.kind}/${p.metadata.name}`) as Obj);
    }
  }
  for (const image of (k['images'] ?? []) as Array<Record<string, string>>) {
    assert.deepEqual(
      Object.keys(image).filter((x) => !['name', 'newName', 'newTag'].includes(x)),
      [],
      `${rel(dir)}: images take name, newName, newTag here`,
    );
    objects = objects.map((o) => {
      const copy = structuredClone(o);
      for (const list of containerLists(copy)) {
        for (const c of list) {
          if (typeof c['image'] !== 'string') continue;
          const [name, tag] = c['image'].split(/:(?=[^:/]*$)/);
          if (name === image['name']) c['image'] = `${image['newName'] ?? name}${(image['newTag'] ?? tag) ? `:${image['newTag'] ?? tag}` : ''}`;
        }
      }
      return copy;
    });
  }
  return objects;
}

const KUSTOMIZATIONS = yamlFiles(KUBERNETES)
  .filter((f) => path.basename(f) === 'kustomization.yaml')
  .map((f) => path.dirname(f));
// Built on first use, inside a test, so that a kustomization this test cannot build fails there.
let BUILT: Map<string, Obj[]> | undefined;
const builds = () => (BUILT ??= new Map(KUSTOMIZATIONS.map((dir) => [path.relative(KUBERNETES, dir), kustomize(dir)])));
const built = (name: string): Obj[] => {
  const objects = builds().get(name);
  assert.ok(objects, `deploy/kubernetes/${name}/kustomization.yaml exists`);
  return objects;
};
const one = (objects: Obj[], kind: string): Obj => {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

// --- validation -------------------------------------------------------------------------------

const MODELS_BY_KIND: Record<string, new (o: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};

/** A CRD schema as the API server applies it with strict field validation: no unknown fields. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!isPlain(schema)) return schema;
  const out = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, closed(s)])) : closed(v)]));
  if (out['properties'] && !out['x-kubernetes-preserve-unknown-fields'] && out['additionalProperties'] === undefined) out['additionalProperties'] = false;
  return out;
}

// Formats (int32, int64, ...) are left to kubernetes-models; the CRDs' structure is what is checked here.
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
ajv.addKeyword('x-kubernetes-preserve-unknown-fields');
const crdSchema = (file: string) => {
  const doc = parse(readFileSync(path.join(FIXTURES, 'kserve-crd', file), 'utf8')) as { apiVersion: string; kind: string; openAPIV3Schema: Record<string, any> };
  return { ...doc, openAPIV3Schema: closed(doc.openAPIV3Schema) as Record<string, any> };
};
const KSERVE_SCHEMAS = [crdSchema('inferenceservice.v1beta1.schema.yaml'), crdSchema('clusterservingruntime.v1alpha1.schema.yaml')];
const KSERVE_VALIDATORS = new Map(KSERVE_SCHEMAS.map((s) => [`${s.apiVersion}/${s.kind}`, ajv.compile(s.openAPIV3Schema)]));
// The pod spec that KServe's predictor extends, closed: the Deployment's pod template is checked
// against it too, since kubernetes-models lets unknown fields through.
const podSpecValidator = ajv.compile(KSERVE_SCHEMAS[0]!.openAPIV3Schema['properties'].spec.properties.predictor);

function validate(o: Obj, where: string): void {
  const key = `${o.apiVersion}/${o.kind}`;
  assert.match(o.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${where}: ${key} has a name Kubernetes accepts (lower case, digits, -)`);
  const crd = KSERVE_VALIDATORS.get(key);
  if (crd) {
    assert.ok(crd(o), `${where}: ${key} ${o.metadata.name} against KServe's CRD: ${ajv.errorsText(crd.errors)}`);
    return;
  }
  const Model = MODELS_BY_KIND[key];
  assert.ok(Model, `${where}: no model for ${key}; add it to MODELS_BY_KIND`);
  assert.doesNotThrow(() => new Model(o).validate(), `${where}: ${key} ${o.metadata.name}`);
  if (o.kind === 'Deployment') {
    const spec = o['spec'].template.spec;
    assert.ok(podSpecValidator(spec), `${where}: Deployment ${o.metadata.name} pod spec has only known fields: ${ajv.errorsText(podSpecValidator.errors)}`);
  }
}

// --- the server's side ------------------------------------------------------------------------

const store = await ModelStore.open(MODELS);
const metrics = new Metrics(store, new FakeEngine());
const inference = inferenceOperations({ store, engine: new FakeEngine(), guards: {} as never, isHealthy: () => true, version: 'test' });
const metricsTable = metricsOperations(metrics, 'test').table;
const routeOf = (table: Operation[], method: string, p: string) => table.find((op) => op.method === method && op.path === p);
const metricFamilies = [...(await metrics.text()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);

/** A benchmark figure of BENCHMARKS.md, in MB: the median column of the row named. */
function benchmarkMB(row: string): number {
  const line = readFileSync(path.join(PROJECT_ROOT, 'BENCHMARKS.md'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`| ${row} | MB |`));
  assert.ok(line, `BENCHMARKS.md has the row "${row}"`);
  return Number(line.split('|')[3]);
}

/** A Kubernetes quantity in bytes (Ki, Mi, Gi, k, M, G or none). */
function bytes(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(String(q));
  assert.ok(m, `a memory quantity: ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

interface Pod {
  where: string;
  spec: { containers: Array<Record<string, any>>; volumes?: Array<Record<string, any>>; terminationGracePeriodSeconds?: number; securityContext?: Record<string, any> };
  container: Record<string, any>;
  configMaps: Obj[];
}

/** The server's configuration as the container starts it: arguments, environment and config file. */
function serverConfig({ where, spec, container, configMaps }: Pod) {
  const { values, configFile } = parseArgs(container['args'] ?? []);
  let file: Record<string, string> = {};
  if (configFile) {
    const mount = (container['volumeMounts'] ?? []).find((m: Record<string, string>) => m['mountPath'] === path.posix.dirname(configFile));
    assert.ok(mount, `${where}: --ts-config ${configFile} is in a mounted folder`);
    const volume = spec.volumes?.find((v) => v['name'] === mount.name);
    const map = configMaps.find((c) => c.metadata.name === volume?.['configMap']?.name);
    const text = map?.['data']?.[path.posix.basename(configFile)] as string | undefined;
    assert.ok(text, `${where}: ${configFile} is a key of the ConfigMap mounted there`);
    file = parseProperties(text);
    for (const key of Object.keys(file)) assert.ok(SETTING_NAMED.has(key), `${where}: config.properties key ${key} is a setting`);
  }
  const env: Record<string, string> = {};
  for (const e of container['env'] ?? []) {
    assert.ok(SETTING_ENV.has(e.name) || e.name in OTHER_ENV, `${where}: environment variable ${e.name} is a setting's (or listed in OTHER_ENV with why)`);
    env[e.name] = e.value;
  }
  return resolveConfig({ file, env, args: values, machine: { cores: 2, memoryBytes: 2 * 2 ** 30 } });
}

/** What every pod that runs the server must get right, whoever runs it. */
function checkServerPod(pod: Pod, { startupProbe, grace: podLevel = true }: { startupProbe: boolean; grace?: boolean }) {
  const { where, spec, container } = pod;
  const config = serverConfig(pod);
  const port = Number(config.listeners.inference.port);
  assert.ok(!isLoopback(config.listeners.inference), `${where}: the Inference API binds an address the kubelet reaches, not ${config.listeners.inference.hostname}`);
  if (config.auth.tokenAuthorization === false) assert.ok(isLoopback(config.listeners.management), `${where}: without token authorization the Management API stays on loopback`);
  const ports: Array<Record<string, any>> = container['ports'] ?? [];
  assert.ok(
    ports.some((p) => p['containerPort'] === port),
    `${where}: the container declares the Inference API's port ${port}`,
  );
  const portOf = (p: string | number) => (typeof p === 'number' ? p : ports.find((x) => x['name'] === p)?.['containerPort']);
  if (config.grpc && !isLoopbackHost(config.grpc.inference.host)) {
    assert.ok(
      ports.some((p) => p['containerPort'] === config.grpc!.inference.port),
      `${where}: the container declares the gRPC inference port ${config.grpc.inference.port}`,
    );
  }

  const probes = ['startupProbe', 'readinessProbe', 'livenessProbe'].filter((k) => container[k]);
  assert.ok(container['readinessProbe'] && container['livenessProbe'], `${where}: readiness and liveness probes`);
  if (startupProbe) assert.ok(container['startupProbe'], `${where}: a startup probe, for the models' load`);
  for (const k of probes) {
    const get = container[k].httpGet;
    assert.ok(get, `${where}: ${k} is an HTTP GET`);
    assert.equal(portOf(get.port), port, `${where}: ${k} port ${get.port} is the Inference API's (${config.listeners.inference.href})`);
    assert.ok(routeOf(inference.open, 'get', get.path), `${where}: ${k} path ${get.path} is a GET route of the Inference API open without a key`);
  }
  assert.ok(['/v2/health/ready', '/ping'].includes(container['readinessProbe'].httpGet.path), `${where}: readiness follows the models (ready or ping)`);
  assert.equal(container['livenessProbe'].httpGet.path, '/v2/health/live', `${where}: liveness stays 200 while a model reloads`);
  if (container['startupProbe']) {
    const s = container['startupProbe'];
    const allowed = (s.periodSeconds ?? 10) * (s.failureThreshold ?? 3);
    assert.ok(allowed >= 60, `${where}: the startup probe allows at least 60 s for the models to load (benchmark: about 7 s); ${allowed} s`);
  }

  const preStop = container['lifecycle']?.preStop?.exec?.command as string[] | undefined;
  const sleep = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
  const grace = spec.terminationGracePeriodSeconds ?? 30;
  if (podLevel)
    assert.ok(
      grace > sleep + config.timeouts.defaultResponseTimeout,
      `${where}: grace period ${grace} s outlasts the preStop sleep ${sleep} s and the drain ${config.timeouts.defaultResponseTimeout} s`,
    );

  const pss = benchmarkMB('server c=32: PSS of server + Chromium (shared pages counted once), max');
  const rss = benchmarkMB('server c=32: RSS of server + Chromium, max');
  const { requests = {}, limits = {} } = container['resources'] ?? {};
  assert.ok(bytes(requests.memory) >= pss * 1e6, `${where}: memory request ${requests.memory} at least the benchmark's PSS peak, ${pss} MB`);
  assert.ok(bytes(limits.memory) >= rss * 1e6, `${where}: memory limit ${limits.memory} at least the benchmark's summed RSS peak, ${rss} MB`);
  assert.ok(requests.cpu, `${where}: a CPU request`);
  checkSandbox(pod, config.chromium.sandbox);
  return { config, portOf };
}

/**
 * Chromium's sandbox needs user namespaces, which RuntimeDefault forbids on containerd: a pod that
 * requires the sandbox runs under a Localhost profile of deploy/seccomp/ that allows them, as a
 * non-root user with no privilege escalation and no capability added. A pod under RuntimeDefault
 * leaves chromium_sandbox at prefer, else it could not start.
 */
function checkSandbox({ where, spec, container }: Pod, setting: string): void {
  const profile = container['securityContext']?.seccompProfile ?? spec.securityContext?.seccompProfile;
  assert.ok(profile, `${where}: a seccomp profile`);
  assert.equal(spec.securityContext?.runAsNonRoot ?? container['securityContext']?.runAsNonRoot, true, `${where}: runs as non-root`);
  assert.equal(container['securityContext']?.allowPrivilegeEscalation, false, `${where}: no privilege escalation`);
  assert.equal(container['securityContext']?.capabilities?.add, undefined, `${where}: no capability added`);
  if (setting !== 'require') return;
  assert.equal(profile.type, 'Localhost', `${where}: chromium_sandbox=require needs a Localhost seccomp profile that allows user namespaces`);
  const file = path.join(DEPLOY, 'seccomp', path.basename(profile.localhostProfile));
  assert.ok(existsSync(file), `${where}: ${profile.localhostProfile} is ${rel(file)}`);
  const json = JSON.parse(readFileSync(file, 'utf8')) as { defaultAction: string; syscalls: Array<{ names: string[]; action: string; args?: unknown[]; includes?: { caps?: string[] } }> };
  assert.notEqual(json.defaultAction, 'SCMP_ACT_ALLOW', `${rel(file)} refuses what it does not list`);
  for (const call of ['clone', 'clone3', 'unshare']) {
    const allowed = json.syscalls.some((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(call) && !r.args?.length && !r.includes?.caps?.length);
    assert.ok(allowed, `${rel(file)} allows ${call} with any flags (CLONE_NEWUSER) and no capability`);
  }
}

// --- the tests --------------------------------------------------------------------------------

describe('deploy/: the manifests', () => {
  it('every YAML file parses, and every object in it is valid for its kind', () => {
    const files = yamlFiles(DEPLOY);
    const all = builds();
    assert.ok(files.length >= 10, 'the manifests are there');
    for (const file of files) {
      if (path.basename(file) === 'kustomization.yaml' || patchFiles.has(file)) continue;
      for (const o of readObjects(file)) validate(o, rel(file));
    }
    for (const [name, objects] of all) for (const o of objects) validate(o, `kustomize ${name}`);
    assert.ok(existsSync(path.join(FIXTURES, 'kserve-crd', 'LICENSE')), "KServe's license travels with its schemas");
  });

  it('the kustomizations built here are what kubectl kustomize builds, where kubectl is installed', (t) => {
    let kubectl = true;
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    } catch {
      kubectl = false;
    }
    if (!kubectl) return t.skip('no kubectl');
    const key = (o: Obj) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const sorted = (l: Obj[]) => [...l].sort((a, b) => key(a).localeCompare(key(b)));
    for (const [name, objects] of builds()) {
      const theirs = parseAllDocuments(execFileSync('kubectl', ['kustomize', path.join(KUBERNETES, name)], { encoding: 'utf8' })).map((d) => d.toJS() as Obj);
      assert.deepEqual(sorted(objects), sorted(theirs), `deploy/kubernetes/${name}`);
    }
  });
});

describe('deploy/kubernetes: the base and its overlays', () => {
  for (const name of ['base', 'overlays/gpu', 'overlays/queue-latency', 'overlays/sandbox']) {
    it(`${name}: probes, settings, drain and resources match the server`, () => {
      const objects = built(name);
      const deployment = one(objects, 'Deployment');
      const spec = deployment['spec'].template.spec;
      const container = spec.containers.find((c: Record<string, unknown>) => c['name'] === 'server');
      assert.ok(container, 'the container named server');
      const { config, portOf } = checkServerPod({ where: name, spec, container, configMaps: objects.filter((o) => o.kind === 'ConfigMap') }, { startupProbe: true });

      const labels = deployment['spec'].template.metadata.labels as Record<string, string>;
      const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
      const service = one(objects, 'Service');
      assert.ok(selects(service['spec'].selector), 'the Service selects the pods');
      for (const p of service['spec'].ports) {
        const target = portOf(p.targetPort ?? p.port);
        assert.ok(target, `Service port ${p.name} reaches a container port`);
        assert.notEqual(target, Number(config.listeners.management.port), 'the Service does not expose the Management API');
      }
      assert.ok(
        service['spec'].ports.some((p: Record<string, any>) => portOf(p.targetPort ?? p.port) === Number(config.listeners.inference.port)),
        'the Service exposes the Inference API',
      );
      assert.ok(
        service['spec'].ports.some((p: Record<string, any>) => portOf(p.targetPort ?? p.port) === config.grpc?.inference.port && p.appProtocol === 'kubernetes.io/h2c'),
        'the Service exposes gRPC inference, as HTTP/2 cleartext',
      );
      assert.ok(config.grpc && isLoopbackHost(config.grpc.management.host), 'gRPC management stays on loopback, out of the Service');
      const pdb = one(objects, 'PodDisruptionBudget');
      assert.ok(selects(pdb['spec'].selector.matchLabels), 'the PodDisruptionBudget selects the pods');
      const hpa = one(objects, 'HorizontalPodAutoscaler');
      assert.deepEqual(hpa['spec'].scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });

      const annotations = deployment['spec'].template.metadata.annotations ?? {};
      assert.equal(Number(annotations['prometheus.io/port']), Number(config.listeners.metrics.port), 'Prometheus scrapes the metrics port');
      assert.ok(routeOf(metricsTable, 'get', annotations['prometheus.io/path']), `the metrics listener serves ${annotations['prometheus.io/path']}`);
      assert.ok(!isLoopback(config.listeners.metrics), 'the metrics listener binds an address Prometheus reaches');
    });
  }

  it('overlays/gpu: one NVIDIA GPU, the gpu image, the driver capabilities WebGPU needs', () => {
    const container = one(built('overlays/gpu'), 'Deployment')['spec'].template.spec.containers.find((c: Record<string, unknown>) => c['name'] === 'server');
    assert.equal(container.resources.limits['nvidia.com/gpu'], 1);
    assert.equal(container.image, 'webgpu-inference-server:gpu');
    const caps = container.env.find((e: Record<string, string>) => e['name'] === 'NVIDIA_DRIVER_CAPABILITIES')?.value.split(',');
    for (const cap of ['compute', 'utility', 'graphics']) assert.ok(caps?.includes(cap), cap);
    const base = one(built('base'), 'Deployment')['spec'].template.spec.containers[0];
    assert.deepEqual(container.resources.requests, base.resources.requests, 'the rest of the container is the base');
  });

  it("overlays/sandbox: Chromium's sandbox required, under the seccomp profile that allows it; the rest is the base", () => {
    const pod = one(built('overlays/sandbox'), 'Deployment')['spec'].template.spec;
    const container = pod.containers.find((c: Record<string, unknown>) => c['name'] === 'server');
    assert.deepEqual(pod.securityContext.seccompProfile, { type: 'Localhost', localhostProfile: 'webgpu-inference-server/chromium.json' });
    assert.equal(container.env.find((e: Record<string, string>) => e['name'] === 'TS_CHROMIUM_SANDBOX')?.value, 'require');
    const base = one(built('base'), 'Deployment')['spec'].template.spec;
    assert.equal(base.securityContext.seccompProfile.type, 'RuntimeDefault', 'the base runs anywhere, with the sandbox where the host allows it');
    assert.deepEqual(container.securityContext, base.containers[0].securityContext);
  });

  it('overlays/queue-latency: the HPA scales on the adapter metric, made of series the server exports', () => {
    const hpa = one(built('overlays/queue-latency'), 'HorizontalPodAutoscaler');
    const adapter = readObjects(path.join(KUBERNETES, 'overlays', 'queue-latency', 'prometheus-adapter-rules.yaml'))[0]!;
    const rules = (parse(adapter['data']['config.yaml']) as { rules: Array<Record<string, any>> }).rules;
    const metricNames = hpa['spec'].metrics.map((m: Record<string, any>) => m['pods']?.metric.name);
    for (const rule of rules) {
      assert.ok(metricNames.includes(rule['name'].as), `the HPA uses ${rule['name'].as}`);
      const series = [...`${rule['seriesQuery']} ${rule['metricsQuery']}`.matchAll(/\b(ts_\w+)\{/g)].map((m) => m[1]!);
      assert.ok(series.includes('ts_queue_latency_microseconds'));
      for (const s of series) assert.ok(metricFamilies.includes(s), `the server exports ${s}`);
    }
  });
});

describe('deploy/kserve: the runtime and the InferenceServices', () => {
  const objects = yamlFiles(KSERVE).flatMap(readObjects);
  const runtime = one(objects, 'ClusterServingRuntime');
  const services = objects.filter((o) => o.kind === 'InferenceService');

  it('the ClusterServingRuntime serves ONNX over v2 from /mnt/models', () => {
    assert.deepEqual(runtime['spec'].protocolVersions, ['v2']);
    assert.ok(runtime['spec'].supportedModelFormats.some((f: Record<string, string>) => f['name'] === 'onnx'));
    const container = runtime['spec'].containers[0];
    assert.equal(container.name, 'kserve-container');
    const pod: Pod = { where: 'ClusterServingRuntime', spec: runtime['spec'], container, configMaps: [] };
    // A runtime has no grace period: each InferenceService on it sets one, checked below.
    const { config } = checkServerPod(pod, { startupProbe: false, grace: false });
    assert.equal(config.models.store, '/mnt/models', "the model store is where KServe's storage initializer puts the model");
    assert.equal(Number(config.listeners.inference.port), 8080, "KServe's predictor port");
    assert.equal(Number(runtime['spec'].annotations['prometheus.kserve.io/port']), Number(config.listeners.metrics.port));
    assert.ok(routeOf(metricsTable, 'get', runtime['spec'].annotations['prometheus.kserve.io/path']));
  });

  it('each InferenceService deploys by storageUri on the runtime, or runs the server as its own v2 container', () => {
    assert.ok(services.length >= 2);
    for (const isvc of services) {
      const predictor = isvc['spec'].predictor;
      const where = `InferenceService ${isvc.metadata.name}`;
      // Knative (KServe's Serverless mode) refuses a container's lifecycle and the pod's grace period.
      assert.equal(isvc.metadata.annotations?.['serving.kserve.io/deploymentMode'], 'RawDeployment', `${where}: RawDeployment, for the preStop hook and the grace period`);
      if (predictor.model) {
        assert.equal(predictor.model.runtime, runtime.metadata.name, `${where}: the runtime here`);
        assert.equal(predictor.model.modelFormat.name, 'onnx');
        assert.match(predictor.model.storageUri, /^[a-z0-9]+:\/\//);
        // The runtime's container in this predictor's pod: the predictor's grace period applies.
        checkServerPod(
          { where, spec: { ...runtime['spec'], terminationGracePeriodSeconds: predictor.terminationGracePeriodSeconds }, container: runtime['spec'].containers[0], configMaps: [] },
          { startupProbe: false },
        );
      } else {
        const container = predictor.containers.find((c: Record<string, unknown>) => c['name'] === 'kserve-container');
        assert.ok(container, `${where}: the container named kserve-container`);
        const env = Object.fromEntries(container.env.map((e: Record<string, string>) => [e['name'], e['value']]));
        assert.equal(env['PROTOCOL'], 'v2');
        assert.ok(env['STORAGE_URI'], `${where}: STORAGE_URI, for the storage initializer`);
        const { config } = checkServerPod({ where, spec: predictor, container, configMaps: [] }, { startupProbe: false });
        assert.equal(config.models.store, '/mnt/models');
        assert.equal(Number(config.listeners.inference.port), 8080);
      }
    }
  });
});
