// The CLI as someone without this checkout installs it, two ways, set up at once (each is
// minutes of npm work on its own core):
// - the packed package: `npm pack` of the tree (built by `npm test`'s pretest), installed
//   into an empty directory, and its `caduceus` run there: the version, `validate` on the
//   shipped example, and `init` followed by `validate` of the new repository;
// - the way a config repository's CI may get it without a registry release: `npm install
//   git+http://…` of this repository's HEAD, served by `git http-backend` on loopback. npm
//   clones it, installs its dev dependencies and runs `prepare` (the build), packs what
//   `files` lists and installs that; the installed `caduceus` then runs. better-sqlite3's
//   binary is the one this checkout's `npm ci` built, offered through prebuild-install's
//   local prebuilds, so the install does not compile SQLite again.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { runProcess } from '../helpers/process.js';
import { serveGit, type GitHttpServer } from '../helpers/git-http.js';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  files: string[];
  scripts: Record<string, string>;
  repository: { url: string };
};
/** owner/name of the GitHub repository that hosts action.yml, from package.json's repository URL. */
function actionRepo(): string {
  return /github\.com\/([^/]+\/[^/.]+)/.exec(pkg.repository.url)?.[1] ?? pkg.repository.url;
}

async function npm(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await runProcess('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, env });
  if (r.code !== 0) throw new Error(`npm ${args.join(' ')} exited with ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** Runs the `caduceus` installed under `app` in `cwd`; exit code and stdout+stderr. */
function caduceus(app: string, cwd: string, ...args: string[]): { code: number; out: string } {
  try {
    const out = execFileSync(join(app, 'node_modules', '.bin', 'caduceus'), args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: e.stdout + e.stderr };
  }
}

/**
 * An empty project to install into. Its own package.json stops npm from looking further up
 * for a project: a package.json or node_modules in any parent (a stray one in /tmp, say)
 * would otherwise become the project the package is installed into.
 */
function appDir(dir: string): void {
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'app', private: true }, null, 2)}\n`);
}

// The packed package, installed in `packed`.
let packed: string;
async function installPacked(): Promise<void> {
  const work = tempDir('caduceus-pack-');
  // dist/ is already built; --ignore-scripts keeps `prepare` from rebuilding it under the
  // feet of other test files that run the CLI at the same time.
  const out = await npm(ROOT, ['pack', '--ignore-scripts', '--json', '--pack-destination', work]);
  const tarball = join(work, (JSON.parse(out) as Array<{ filename: string }>)[0]?.filename ?? '');
  packed = join(work, 'app');
  appDir(packed);
  // Install scripts off: validate and init need neither SQLite nor Docker, so no native build.
  // --prefer-offline takes the dependencies' metadata from npm's cache when it has them
  // instead of asking the registry again for each; the resolved versions are the same.
  await npm(packed, ['install', '--ignore-scripts', '--prefer-offline', tarball]);
}

// The git install, in `fromGit`, of commit `head` served by `server`.
let fromGit: string;
let server: GitHttpServer | undefined;
let head: string;
async function installFromGit(): Promise<void> {
  const work = tempDir('caduceus-git-install-');
  git(ROOT, 'clone', '-q', '--bare', '--no-local', ROOT, join(work, 'caduceus.git'));
  head = git(join(work, 'caduceus.git'), 'rev-parse', 'HEAD');
  server = await serveGit(work);
  fromGit = join(work, 'app');
  appDir(fromGit);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    npm_config_better_sqlite3_local_prebuilds: localPrebuilds(work),
  };
  // --prefer-offline reaches the clone's own install of its dev dependencies too (npm passes
  // it on), so packages already in the npm cache are not fetched again.
  // Asynchronous: the git server answers from this process's event loop.
  await npm(fromGit, ['install', '--prefer-offline', `git+${server.url}/caduceus.git#${head}`], env);
}
/** A prebuild-install tarball of this checkout's better-sqlite3 binary, named as it looks for it. */
function localPrebuilds(work: string): string {
  const dir = join(work, 'prebuilds');
  mkdirSync(dir);
  const sqlite = join(ROOT, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string };
  const abi = `node-v${process.versions.modules}-${process.platform}-${process.arch}`;
  const name = `better-sqlite3-v${version}-${abi}.tar.gz`;
  execFileSync('tar', ['-czf', join(dir, name), '-C', sqlite, 'build/Release/better_sqlite3.node']);
  return dir;
}

beforeAll(async () => {
  // allSettled: a failure of one still waits for the other's npm before the file's temp dirs go.
  const results = await Promise.allSettled([installPacked(), installFromGit()]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}, 900_000);
afterAll(async () => {
  await server?.close();
});

describe('the packed package', () => {
  it('builds in prepare and ships dist, schemas, the example and the action, not the benches', () => {
    expect(pkg.scripts.prepare).toBe('npm run build');
    const root = join(packed, 'node_modules', 'caduceus');
    for (const f of [
      'dist/app/cli.js',
      'schemas/caduceus.schema.json',
      'examples/repo/data/logs/auth.log',
      'action.yml',
    ])
      expect(existsSync(join(root, f)), f).toBe(true);
    expect(existsSync(join(root, 'examples/repo/.github/workflows/validate.yml'))).toBe(true);
    expect(existsSync(join(root, 'dist/bench'))).toBe(false);
    expect(existsSync(join(root, 'test'))).toBe(false);
    expect(
      readdirSync(root)
        .filter((f) => f !== 'node_modules')
        .sort(),
    ).toEqual(['README.md', 'action.yml', 'dist', 'examples', 'package.json', 'schemas']);
  });

  it('runs caduceus --version with the version of package.json', () => {
    expect(caduceus(packed, packed, '--version')).toEqual({ code: 0, out: `caduceus ${pkg.version}\n` });
  });

  it('validates the shipped example clean', () => {
    const r = caduceus(packed, packed, 'validate', 'node_modules/caduceus/examples/repo');
    expect(r).toEqual({ code: 0, out: 'ok: 11 resources in 11 files\n' });
  });

  it('scaffolds a repository with init that validates, with its workflow on the pinned action', () => {
    const r = caduceus(packed, packed, 'init', 'config');
    expect(r.code).toBe(0);
    expect(caduceus(packed, join(packed, 'config'), 'validate')).toEqual({
      code: 0,
      out: 'ok: 11 resources in 11 files\n',
    });
    const workflow = readFileSync(join(packed, 'config', '.github', 'workflows', 'validate.yml'), 'utf8');
    expect(workflow).toContain(`uses: ${actionRepo()}@v${pkg.version}\n`);
  });
});

describe('npm install from a git URL', () => {
  it('records the commit it installed and ships the build that prepare made', () => {
    const lock = JSON.parse(readFileSync(join(fromGit, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string }>;
    };
    expect(lock.packages['node_modules/caduceus']?.resolved).toBe(`git+${server?.url}/caduceus.git#${head}`);
    const installed = join(fromGit, 'node_modules', 'caduceus');
    expect(existsSync(join(installed, 'dist', 'app', 'cli.js'))).toBe(true);
    expect(existsSync(join(installed, 'schemas', 'caduceus.schema.json'))).toBe(true);
    expect(existsSync(join(installed, 'test'))).toBe(false);
  });

  it('runs the installed caduceus: its version and a clean validate of the shipped example', () => {
    expect(caduceus(fromGit, fromGit, '--version')).toEqual({ code: 0, out: `caduceus ${pkg.version}\n` });
    expect(caduceus(fromGit, fromGit, 'validate', 'node_modules/caduceus/examples/repo')).toEqual({
      code: 0,
      out: 'ok: 11 resources in 11 files\n',
    });
  });
});
