// `node dist/scripts/bundle/record-gpu-figures.js DIR`: puts the figures of a passed GPU check (the
// folder `run.sh gpu-check` wrote, brought back from the GPU host) under BENCHMARKS.md's GPU
// heading, beside the CPU figures, replacing any earlier ones.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { writeGpuSection } from '../bench/report.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node dist/scripts/bundle/record-gpu-figures.js <the folder run.sh gpu-check wrote>');
  process.exit(2);
}
let section: string;
try {
  section = readFileSync(path.join(dir, 'benchmarks-gpu.md'), 'utf8');
} catch {
  console.error(`${dir} has no benchmarks-gpu.md: the check did not pass there (see its result.txt)`);
  process.exit(1);
}
const file = path.join(PROJECT_ROOT, 'BENCHMARKS.md');
writeGpuSection(file, section);
console.error(`wrote the GPU figures of ${dir} into ${file}`);
