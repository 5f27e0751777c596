// The sandbox's /config: a read-only copy of the configuration files and nothing else.
// Mounting the checkout itself would hand a container the repository's .git, its ignored
// files (a .env, a secret that `valueFrom: {file}` reads) and, when the state directory
// sits inside, the database and other runs' workspaces. For a commit the copy is the
// commit's tree (`git archive`); otherwise the files git tracks or would track under the
// directory, or without git every file but .git; the state directory never.

import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const COMMIT = /^[0-9a-f]{40}$/;
/** Copies kept besides the newest: runs of the previous revision may still read theirs. */
const KEEP = 2;

export class ConfigView {
  private readonly root: string;
  private readonly made = new Map<string, Promise<string>>();

  constructor(
    private readonly configDir: string,
    private readonly stateDir: string,
  ) {
    this.root = join(stateDir, 'config-views');
  }

  /** The directory holding the configuration of `revision`, made on first use. */
  dirFor(revision: string): Promise<string> {
    let dir = this.made.get(revision);
    if (!dir) {
      dir = this.make(revision);
      this.made.set(revision, dir);
      dir.catch(() => this.made.delete(revision));
      for (const old of [...this.made.keys()].slice(0, -KEEP - 1)) {
        const gone = this.made.get(old);
        this.made.delete(old);
        void gone?.then((d) => rm(d, { recursive: true, force: true })).catch(() => undefined);
      }
    }
    return dir;
  }

  private async make(revision: string): Promise<string> {
    const dest = join(this.root, createHash('sha256').update(revision).digest('hex').slice(0, 16));
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest, { recursive: true });
    const prefix = await gitPrefix(this.configDir);
    if (prefix !== undefined && COMMIT.test(revision)) await archive(this.configDir, revision, prefix, dest);
    else {
      const files = prefix !== undefined ? await gitFiles(this.configDir) : await walk(this.configDir);
      const state = resolve(this.stateDir);
      for (const rel of files) {
        const from = join(this.configDir, rel);
        if (inside(state, resolve(from)) || rel.split(/[\\/]/).includes('.git')) continue;
        await mkdir(dirname(join(dest, rel)), { recursive: true });
        await copyFile(from, join(dest, rel)).catch(() => undefined); // deleted since listed
      }
    }
    await openUp(dest);
    return dest;
  }
}

/** The directory's path inside its git work tree (`''` at the top), or undefined outside git. */
async function gitPrefix(dir: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['rev-parse', '--show-prefix'], { cwd: dir });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

async function archive(dir: string, commit: string, prefix: string, dest: string): Promise<void> {
  const treeish = prefix ? `${commit}:${prefix.replace(/\/$/, '')}` : commit;
  await new Promise<void>((resolvePromise, reject) => {
    const git = spawn('git', ['archive', '--format=tar', treeish], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '--no-same-owner', '-C', dest], { stdio: ['pipe', 'ignore', 'pipe'] });
    git.stdout.pipe(tar.stdin);
    let err = '';
    git.stderr.on('data', (d: Buffer) => (err += d.toString()));
    tar.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let left = 2;
    const done = (code: number | null): void => {
      if (code !== 0) reject(new Error(`exporting ${treeish} for the sandbox failed: ${err.trim()}`));
      else if (--left === 0) resolvePromise();
    };
    git.on('close', done);
    tar.on('close', done);
  });
}

/** Tracked files and untracked ones git does not ignore, relative to dir. */
async function gitFiles(dir: string): Promise<string[]> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.'], {
    cwd: dir,
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout.split('\0').filter(Boolean);
}

async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === '.git') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, base)));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out;
}

/** Readable by the container's user (65534 by default), whatever the umask was; x bits kept. */
async function openUp(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await openUp(p);
    else if (e.isFile()) await chmod(p, ((await stat(p)).mode & 0o755) | 0o644);
  }
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root + sep);
}
