// Where the runtime page is, for the gateway to tell when a load runs past its deadline: whether
// its calls arrive at all, and which steps of the load in progress have ended (model-host.ts
// names them). Read through PAGE_PROGRESS; a page whose main thread is stuck cannot answer, and
// the gateway says that instead.

import { PAGE_PROGRESS } from './protocol.js';

let callsReceived = 0;
let load: { model: string; startedAt: number; lastAt: number; steps: Array<[string, number]> } | null = null;

export function callReceived(): void {
  callsReceived++;
}

export function loadStarted(model: string): void {
  const now = performance.now();
  load = { model, startedAt: now, lastAt: now, steps: [] };
}

export function loadStep(name: string, ms: number): void {
  if (!load) return;
  load.steps.push([name, ms]);
  load.lastAt = performance.now();
}

export function loadEnded(): void {
  load = null;
}

export function describeProgress(now = performance.now()): string {
  const calls = `${callsReceived} call(s) received`;
  if (!load) return `${calls}, no load in progress`;
  const done = load.steps.length === 0 ? 'no step ended yet' : `steps ended: ${load.steps.map(([n, ms]) => `${n} ${ms} ms`).join(', ')}`;
  return `${calls}; loading ${load.model} for ${Math.round(now - load.startedAt)} ms, ${done}; the next step has run ${Math.round(now - load.lastAt)} ms`;
}

(globalThis as Record<string, unknown>)[PAGE_PROGRESS] = () => describeProgress();
