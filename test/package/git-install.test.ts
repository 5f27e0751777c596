// The CLI installed the way a config repository's CI may get it without a registry release:
// `npm install git+http://…` of this repository's HEAD, served by `git http-backend` on
// loopback. npm clones it, installs its dev dependencies and runs `prepare` (the build),
// packs what `files` lists and installs that; the installed `caduceus` then runs.
// better-sqlite3's binary is the one this checkout's `npm ci` built, offered through
// prebuild-install's local prebuilds, so the two installs do not compile SQLite again.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { serveGit, type GitHttpServer } from '../helpers/git-http.js';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
let work: string;
let app: string;
let server: GitHttpServer;
let head: string;

beforeAll(async () => {
  work = tempDir('caduceus-git-install-');
  git(ROOT, 'clone', '-q', '--bare', '--no-local', ROOT, join(work, 'caduceus.git'));
  head = git(join(work, 'caduceus.git'), 'rev-parse', 'HEAD');
  server = await serveGit(work);
  app = join(work, 'app');
  mkdirSync(app);
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_better_sqlite3_local_prebuilds: localPrebuilds() };
  // --prefer-offline reaches the clone's own install of its dev dependencies too (npm passes
  // it on), so packages already in the npm cache are not fetched again.
  // Asynchronous: the git server answers from this process's event loop.
  await promisify(execFile)(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `git+${server.url}/caduceus.git#${head}`,
    ],
    { cwd: app, env, encoding: 'utf8' },
  );
}, 900_000);
/** A prebuild-install tarball of this checkout's better-sqlite3 binary, named as it looks for it. */
function localPrebuilds(): string {
  const dir = join(work, 'prebuilds');
  mkdirSync(dir);
  const sqlite = join(ROOT, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string };
  const abi = `node-v${process.versions.modules}-${process.platform}-${process.arch}`;
  const name = `better-sqlite3-v${version}-${abi}.tar.gz`;
  execFileSync('tar', ['-czf', join(dir, name), '-C', sqlite, 'build/Release/better_sqlite3.node']);
  return dir;
}

afterAll(async () => {
  await server?.close();
});

function caduceus(...args: string[]): { code: number; out: string } {
  try {
    const out = execFileSync(join(app, 'node_modules', '.bin', 'caduceus'), args, {
      cwd: app,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: e.stdout + e.stderr };
  }
}

describe('npm install from a git URL', () => {
  it('records the commit it installed and ships the build that prepare made', () => {
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string }>;
    };
    expect(lock.packages['node_modules/caduceus']?.resolved).toBe(`git+${server.url}/caduceus.git#${head}`);
    const installed = join(app, 'node_modules', 'caduceus');
    expect(existsSync(join(installed, 'dist', 'app', 'cli.js'))).toBe(true);
    expect(existsSync(join(installed, 'schemas', 'caduceus.schema.json'))).toBe(true);
    expect(existsSync(join(installed, 'test'))).toBe(false);
  });

  it('runs the installed caduceus: its version and a clean validate of the shipped example', () => {
    expect(caduceus('--version')).toEqual({ code: 0, out: `caduceus ${pkg.version}\n` });
    expect(caduceus('validate', 'node_modules/caduceus/examples/repo')).toEqual({
      code: 0,
      out: 'ok: 11 resources in 11 files\n',
    });
  });
});
