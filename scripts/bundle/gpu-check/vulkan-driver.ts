// The host's Vulkan driver, found before Chromium starts: WebGPU on Linux is Dawn on Vulkan, and
// the Vulkan loader (the bundle's) finds a driver through an ICD file that names the driver's
// library. NVIDIA's installers put `nvidia_icd.json` in one of several places, some of which the
// loader does not search (a driver container's folder, a cloud image's /usr/local/nvidia); so it is
// looked for here and handed to the loader by name, and its library's folder joins the library path
// where the system would not find it.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface IcdFile {
  path: string;
  /** The driver library the file names, as written. */
  library: string | null;
  /** Where that library is on this host, or null. */
  libraryFound: string | null;
  apiVersion: string | null;
  error: string | null;
}

export interface VulkanDriver {
  icdFiles: IcdFile[];
  /** The ICD file handed to the loader, or null (the loader's own search then applies). */
  used: string | null;
  why: string;
  /** Variables for Chromium's environment. */
  env: Record<string, string>;
  devices: string[];
  nvidiaSmi: string | null;
}

const ICD_DIRS = [
  '/usr/share/vulkan/icd.d',
  '/etc/vulkan/icd.d',
  '/usr/local/share/vulkan/icd.d',
  '/usr/local/etc/vulkan/icd.d',
  '/usr/local/nvidia/icd.d',
  '/usr/local/nvidia/vulkan/icd.d',
  '/run/nvidia/driver/usr/share/vulkan/icd.d',
  '/run/nvidia/driver/etc/vulkan/icd.d',
];
// The dynamic loader's own folders: a library found elsewhere needs its folder on the path.
const SYSTEM_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/lib64', '/usr/lib', '/lib'];
const MORE_LIB_DIRS = ['/usr/local/nvidia/lib64', '/usr/local/nvidia/lib', '/run/nvidia/driver/usr/lib/x86_64-linux-gnu', '/run/nvidia/driver/usr/lib64', '/usr/lib/nvidia'];
const FIND_SECONDS = 20;

function ldSoConfDirs(): string[] {
  const dirs: string[] = [];
  const read = (file: string) => {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n').map((l) => l.replace(/#.*/, '').trim())) {
      if (line.startsWith('include ')) {
        const dir = path.dirname(line.slice(8).trim());
        try {
          for (const f of readdirSync(dir).filter((n) => n.endsWith('.conf'))) read(path.join(dir, f));
        } catch {
          // No such folder.
        }
      } else if (line.startsWith('/')) dirs.push(line);
    }
  };
  read('/etc/ld.so.conf');
  return dirs;
}

function readIcd(file: string, libDirs: string[]): IcdFile {
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as { ICD?: { library_path?: string; api_version?: string } };
    const library = json.ICD?.library_path ?? null;
    let libraryFound: string | null = null;
    if (library?.includes('/')) {
      const p = path.resolve(path.dirname(file), library);
      libraryFound = existsSync(p) ? p : null;
    } else if (library) {
      libraryFound = libDirs.map((d) => path.join(d, library)).find((p) => existsSync(p)) ?? null;
    }
    return { path: file, library, libraryFound, apiVersion: json.ICD?.api_version ?? null, error: library ? null : 'no ICD.library_path' };
  } catch (e) {
    return { path: file, library: null, libraryFound: null, apiVersion: null, error: e instanceof Error ? e.message : String(e) };
  }
}

/** NVIDIA ICD files in the known folders, else anywhere on the host that find reaches within FIND_SECONDS. */
function icdCandidates(): string[] {
  const found: string[] = [];
  const dataDirs = (process.env['XDG_DATA_DIRS'] ?? '').split(':').filter(Boolean);
  for (const dir of [...ICD_DIRS, ...dataDirs.map((d) => path.join(d, 'vulkan/icd.d'))]) {
    try {
      for (const f of readdirSync(dir)) if (/^nvidia.*\.json$/.test(f)) found.push(path.join(dir, f));
    } catch {
      // Not there.
    }
  }
  if (found.length) return found;
  const find = spawnSync('find', ['/', '(', '-path', '/proc', '-o', '-path', '/sys', '-o', '-path', '/dev', ')', '-prune', '-o', '-name', 'nvidia_icd*.json', '-print'], {
    encoding: 'utf8',
    timeout: FIND_SECONDS * 1000,
    maxBuffer: 1 << 20,
  });
  for (const line of (find.stdout ?? '').split('\n')) if (line && !found.includes(line)) found.push(line);
  return found;
}

function run(command: string, args: string[]): string | null {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function findVulkanDriver(): VulkanDriver {
  const libDirs = [...SYSTEM_LIB_DIRS, ...ldSoConfDirs(), ...MORE_LIB_DIRS];
  const icdFiles = icdCandidates().map((f) => readIcd(f, libDirs));
  const devices = ['/dev', '/dev/dri'].flatMap((d) => {
    try {
      return readdirSync(d)
        .filter((n) => /^(nvidia|card|renderD)/.test(n))
        .map((n) => path.join(d, n));
    } catch {
      return [];
    }
  });
  const nvidiaSmi = run('nvidia-smi', ['--query-gpu=name,driver_version,memory.total,pci.bus_id', '--format=csv,noheader']);
  const env: Record<string, string> = {};

  const given = process.env['VK_DRIVER_FILES'] ?? process.env['VK_ICD_FILENAMES'];
  if (given) return { icdFiles, used: given, why: 'VK_DRIVER_FILES / VK_ICD_FILENAMES as given', env, devices, nvidiaSmi };
  const usable = icdFiles.find((f) => f.libraryFound) ?? null;
  if (!usable) {
    const why = icdFiles.length
      ? `no NVIDIA ICD file names a library found on this host (${icdFiles.map((f) => `${f.path}: ${f.library ?? f.error}`).join('; ')}); the Vulkan loader searches on its own`
      : `no NVIDIA ICD file (nvidia_icd*.json) found in ${ICD_DIRS.join(', ')} or by find within ${FIND_SECONDS} s; the Vulkan loader searches on its own`;
    return { icdFiles, used: null, why, env, devices, nvidiaSmi };
  }
  // Both names: the loader in the bundle reads VK_DRIVER_FILES, older loaders VK_ICD_FILENAMES.
  env['VK_DRIVER_FILES'] = usable.path;
  env['VK_ICD_FILENAMES'] = usable.path;
  const libDir = path.dirname(usable.libraryFound!);
  if (!SYSTEM_LIB_DIRS.includes(libDir) && !ldSoConfDirs().includes(libDir)) {
    env['LD_LIBRARY_PATH'] = [libDir, process.env['LD_LIBRARY_PATH']].filter(Boolean).join(':');
  }
  return { icdFiles, used: usable.path, why: `${usable.path} names ${usable.library}, found at ${usable.libraryFound}`, env, devices, nvidiaSmi };
}
