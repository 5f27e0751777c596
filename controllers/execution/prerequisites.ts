// Runtime prerequisites: Debian packages (or commands) the host must have. A package
// counts as present when dpkg says it is installed or a command of that name (or the
// command Debian ships it as) is on PATH. Missing ones can be installed with apt-get.

import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian package names and the commands they provide, where the two differ. */
const COMMANDS_OF: Record<string, string[]> = {
  'fd-find': ['fdfind', 'fd'],
  ripgrep: ['rg'],
  'busybox-static': ['busybox'],
};
const PACKAGE_OF: Record<string, string> = { rg: 'ripgrep', fd: 'fd-find', fdfind: 'fd-find' };

export async function isDpkgInstalled(pkg: string): Promise<boolean> {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a JS template
    const { stdout } = await run('dpkg-query', ['-W', '-f=${Status}', pkg], { timeout: 10_000 });
    return stdout.trim().endsWith(' installed');
  } catch {
    return false;
  }
}

export function onPath(cmd: string, path = process.env.PATH ?? ''): boolean {
  if (cmd.includes('/')) return false;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

export async function isPresent(pkg: string): Promise<boolean> {
  if (await isDpkgInstalled(pkg)) return true;
  return [pkg, ...(COMMANDS_OF[pkg] ?? [])].some((c) => onPath(c));
}

export async function missingPackages(packages: readonly string[]): Promise<string[]> {
  const present = await Promise.all(packages.map((p) => isPresent(p)));
  return packages.filter((_, i) => !present[i]);
}

export interface InstallResult {
  ok: boolean;
  /** Tail of apt-get's output, for status and events. */
  output: string;
}

/** `apt-get install -y` of the Debian packages behind the names, with an update first when apt does not know one. */
export async function aptInstall(names: readonly string[], signal?: AbortSignal): Promise<InstallResult> {
  const pkgs = [...new Set(names.map((n) => PACKAGE_OF[n] ?? n))];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const sudo = typeof process.getuid === 'function' && process.getuid() !== 0 ? ['sudo', '-n'] : [];
  const apt = async (args: string[]): Promise<InstallResult> => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    try {
      const { stdout, stderr } = await run(cmd as string, rest, {
        env,
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
        ...(signal ? { signal } : {}),
      });
      return { ok: true, output: (stdout + stderr).slice(-2000) };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: ((e.stdout ?? '') + (e.stderr ?? '') || e.message).slice(-2000) };
    }
  };
  const install = ['install', '-y', '-q', '--no-install-recommends', ...pkgs];
  const first = await apt(install);
  if (first.ok || !listsStale()) return first;
  // A fresh machine has no package lists yet (or old ones): update once, then try again.
  const update = await apt(['update', '-q']);
  if (!update.ok) return update;
  return apt(install);
}

/** True when apt's package lists are missing or older than an hour. */
function listsStale(dir = '/var/lib/apt/lists', maxAgeMs = 3_600_000): boolean {
  try {
    const lists = readdirSync(dir).filter((f) => f.includes('_Packages'));
    if (lists.length === 0) return true;
    return Date.now() - Math.max(...lists.map((f) => statSync(`${dir}/${f}`).mtimeMs)) > maxAgeMs;
  } catch {
    return true;
  }
}
