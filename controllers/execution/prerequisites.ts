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
  coreutils: ['date', 'sort', 'wc'],
  findutils: ['find'],
};
const PACKAGE_OF: Record<string, string> = { rg: 'ripgrep', fd: 'fd-find', fdfind: 'fd-find', find: 'findutils' };

/** The packages of `pkgs` dpkg reports installed, asked in one dpkg-query. */
export async function dpkgInstalled(pkgs: readonly string[]): Promise<Set<string>> {
  const installed = new Set<string>();
  if (pkgs.length === 0) return installed;
  let out = '';
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a JS template
    ({ stdout: out } = await run('dpkg-query', ['-W', '-f=${Package} ${Status}\n', '--', ...pkgs], {
      timeout: 10_000,
    }));
  } catch (err) {
    // Exit 1 when some package is unknown: the known ones are still listed on stdout.
    out = (err as { stdout?: string }).stdout ?? '';
  }
  for (const line of out.split('\n')) {
    const [name] = line.split(' ');
    if (name && line.trim().endsWith(' installed')) installed.add(name.split(':')[0] as string);
  }
  return installed;
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

function commandOnPath(pkg: string): boolean {
  return [pkg, ...(COMMANDS_OF[pkg] ?? [])].some((c) => onPath(c));
}

export async function isPresent(pkg: string): Promise<boolean> {
  return (await missingPackages([pkg])).length === 0;
}

/**
 * The packages that are neither on PATH (checked first: no process) nor installed
 * according to dpkg (one dpkg-query for all the others).
 */
export async function missingPackages(packages: readonly string[]): Promise<string[]> {
  const notOnPath = packages.filter((p) => !commandOnPath(p));
  const installed = await dpkgInstalled(notOnPath);
  return notOnPath.filter((p) => !installed.has(p));
}

export interface InstallResult {
  /** Every package is present afterwards. */
  ok: boolean;
  /** Debian packages apt-get installed. */
  installed: string[];
  /** Packages that could not be installed, each with why (apt's last lines). */
  failed: Array<{ package: string; reason: string }>;
  /** Tail of apt-get's output, for status and events. */
  output: string;
}

type Apt = (args: string[]) => Promise<{ ok: boolean; output: string }>;

function aptRunner(signal?: AbortSignal): Apt {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const sudo = typeof process.getuid === 'function' && process.getuid() !== 0 ? ['sudo', '-n'] : [];
  return async (args) => {
    // Another apt (unattended-upgrades, a second runtime) holding dpkg's lock is waited
    // for, not reported as a failed install.
    const [cmd, ...rest] = [...sudo, 'apt-get', '-o', 'DPkg::Lock::Timeout=300', ...args];
    try {
      const { stdout, stderr } = await run(cmd as string, rest, {
        env,
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
        // Spread: execFile checks the signal option by key.
        ...(signal ? { signal } : {}),
      });
      return { ok: true, output: (stdout + stderr).slice(-2000) };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: ((e.stdout ?? '') + (e.stderr ?? '') || e.message).slice(-2000) };
    }
  };
}

/** True when apt has a candidate version of the package (apt-cache policy prints `Candidate: (none)` otherwise). */
async function aptKnows(pkg: string): Promise<boolean> {
  try {
    const { stdout } = await run('apt-cache', ['policy', pkg], { timeout: 30_000 });
    const m = /Candidate:\s*(\S+)/.exec(stdout);
    return m !== null && m[1] !== '(none)';
  } catch {
    return false;
  }
}

/**
 * `apt-get install -y` of the Debian packages behind the names, package by package in
 * effect: names apt has no candidate for are reported and left out (after one
 * `apt-get update` when the lists are missing or old), the rest are installed in one
 * transaction, and if that transaction fails each is tried alone, so one bad name never
 * blocks the others.
 */
export async function aptInstall(names: readonly string[], signal?: AbortSignal): Promise<InstallResult> {
  const pkgs = [...new Set(names.map((n) => PACKAGE_OF[n] ?? n))];
  const apt = aptRunner(signal);
  const log: string[] = [];
  let known = await partition(pkgs);
  if (known.unknown.length > 0 && listsStale()) {
    // A fresh machine has no package lists yet (or old ones): update once, then look again.
    const update = await apt(['update', '-q']);
    log.push(update.output);
    known = await partition(pkgs);
  }
  const failed = known.unknown.map((p) => ({
    package: p,
    reason: `apt knows no package ${p} (apt-cache policy shows no candidate; check the name with apt-cache search)`,
  }));
  const installed: string[] = [];
  const install = (list: string[]): Promise<{ ok: boolean; output: string }> =>
    apt(['install', '-y', '-q', '--no-install-recommends', ...list]);
  if (known.available.length > 0) {
    const all = await install(known.available);
    log.push(all.output);
    if (all.ok) installed.push(...known.available);
    else
      for (const p of known.available) {
        const one = await install([p]);
        log.push(one.output);
        if (one.ok) installed.push(p);
        else failed.push({ package: p, reason: lastLine(one.output) });
      }
  }
  return { ok: failed.length === 0, installed, failed, output: log.join('\n').slice(-2000) };
}

async function partition(pkgs: string[]): Promise<{ available: string[]; unknown: string[] }> {
  const knows = await Promise.all(pkgs.map((p) => aptKnows(p)));
  return { available: pkgs.filter((_, i) => knows[i]), unknown: pkgs.filter((_, i) => !knows[i]) };
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).slice(-1)[0] ?? 'apt-get failed';
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
