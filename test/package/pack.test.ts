// The package as someone without this checkout gets it: `npm pack` of the tree (built by
// `npm test`'s pretest; `prepare` builds it for git installs), installed into an empty
// directory with npm, and its `caduceus` run there: the version, `validate` on the
// shipped example, and `init` followed by `validate` of the new repository.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp.js';
import { runProcess } from '../helpers/process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  files: string[];
  scripts: Record<string, string>;
};
/** owner/name of the GitHub repository that hosts action.yml, from package.json's repository URL. */
function actionRepo(): string {
  const url = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { repository: { url: string } })
    .repository.url;
  return /github\.com\/([^/]+\/[^/.]+)/.exec(url)?.[1] ?? url;
}
let work: string;
let installed: string;

async function npm(cwd: string, ...args: string[]): Promise<string> {
  const r = await runProcess('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd });
  if (r.code !== 0) throw new Error(`npm ${args.join(' ')} exited with ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

function caduceus(cwd: string, ...args: string[]): { code: number; stdout: string } {
  try {
    const stdout = execFileSync(join(installed, 'node_modules', '.bin', 'caduceus'), args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout + e.stderr };
  }
}

beforeAll(async () => {
  work = tempDir('caduceus-pack-');
  // dist/ is already built; --ignore-scripts keeps `prepare` from rebuilding it under the
  // feet of other test files that run the CLI at the same time.
  const out = await npm(ROOT, 'pack', '--ignore-scripts', '--json', '--pack-destination', work);
  const tarball = join(work, (JSON.parse(out) as Array<{ filename: string }>)[0]?.filename ?? '');
  installed = join(work, 'app');
  execFileSync('mkdir', [installed]);
  // Install scripts off: validate and init need neither SQLite nor Docker, so no native build.
  await npm(installed, 'install', '--ignore-scripts', tarball);
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('builds in prepare and ships dist, schemas, the example and the action, not the benches', () => {
    expect(pkg.scripts.prepare).toBe('npm run build');
    const root = join(installed, 'node_modules', 'caduceus');
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
    expect(caduceus(installed, '--version')).toEqual({ code: 0, stdout: `caduceus ${pkg.version}\n` });
  });

  it('validates the shipped example clean', () => {
    const r = caduceus(installed, 'validate', 'node_modules/caduceus/examples/repo');
    expect(r).toEqual({ code: 0, stdout: 'ok: 11 resources in 11 files\n' });
  });

  it('scaffolds a repository with init that validates, with its workflow on the pinned action', () => {
    const r = caduceus(installed, 'init', 'config');
    expect(r.code).toBe(0);
    expect(caduceus(join(installed, 'config'), 'validate')).toEqual({
      code: 0,
      stdout: 'ok: 11 resources in 11 files\n',
    });
    const workflow = readFileSync(join(installed, 'config', '.github', 'workflows', 'validate.yml'), 'utf8');
    expect(workflow).toContain(`uses: ${actionRepo()}@v${pkg.version}\n`);
  });
});
