// CLI conventions people bring from kubectl, flux and terraform, checked on the compiled
// CLI: the version from package.json, -o json|yaml beside --json, no colour under NO_COLOR
// or without a terminal, completion scripts that a real bash parses, and a plain message
// when the --listen port is taken.

import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { tempDir } from '../helpers/temp.js';
import { type Finished, runProcess } from '../helpers/process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'app', 'cli.js');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  const base = { ...process.env };
  delete base.NO_COLOR;
  delete base.FORCE_COLOR;
  return runProcess(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...base, ...env } });
}

describe('caduceus CLI conventions', () => {
  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await cli(['--version'])).stdout).toBe(`caduceus ${version}\n`);
  });

  it('prints the same records with --json, -o json and -o yaml, and refuses another -o', async () => {
    const state = tempDir('caduceus-state-');
    dirs.push(state);
    const json = await cli(['validate', '--json', 'examples/repo']);
    const o = await cli(['validate', '-o', 'json', 'examples/repo']);
    expect(o.stdout).toBe(json.stdout);
    const bad = join(tempDir('caduceus-bad-'), 'x.yaml');
    dirs.push(join(bad, '..'));
    const broken = spawnSync('sh', [
      '-c',
      `printf 'apiVersion: caduceus.dev/v1\\nkind: Skill\\nmetadata: {name: x}\\nspec: {}\\n' > ${bad}`,
    ]);
    expect(broken.status).toBe(0);
    const asJson = JSON.parse((await cli(['validate', '--json', join(bad, '..')])).stdout) as unknown[];
    const asYaml = await cli(['validate', '-o', 'yaml', join(bad, '..')]);
    expect(asYaml.code).toBe(1);
    expect(parseYaml(asYaml.stdout)).toEqual(asJson);
    expect(asJson).toEqual(
      ['description', 'version'].map((p) => ({
        file: 'x.yaml',
        line: 4,
        column: 7,
        severity: 'error',
        rule: 'schema',
        message: `spec: missing required property "${p}"`,
      })),
    );
    const wrong = await cli(['runs', '-o', 'xml', '--state-dir', state]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('-o/--output takes json, yaml or text');
  });

  it('colours plan only when asked, never under NO_COLOR, and not when stdout is not a terminal', async () => {
    const state = tempDir('caduceus-state-');
    dirs.push(state);
    const args = ['plan', 'examples/repo', '--state-dir', state];
    const plain = await cli(args);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toContain('+ Skill "log-search" will be created');
    expect(plain.stdout).not.toContain('\x1b[');
    expect((await cli(args, { FORCE_COLOR: '1' })).stdout).toContain('\x1b[');
    expect((await cli(args, { FORCE_COLOR: '1', NO_COLOR: '1' })).stdout).not.toContain('\x1b[');
  });

  it('writes completion scripts naming every command; bash parses its own', async () => {
    const names = [
      'validate',
      'plan',
      'up',
      'status',
      'run',
      'create',
      'skills',
      'top',
      'completion',
      'proxy',
      'gateway',
    ];
    for (const shell of ['bash', 'zsh', 'fish']) {
      const r = await cli(['completion', shell]);
      expect(r.code, shell).toBe(0);
      for (const n of names) expect(r.stdout, `${shell} ${n}`).toContain(n);
    }
    const bash = (await cli(['completion', 'bash'])).stdout;
    expect(bash).toContain('gateway-role');
    const check = spawnSync('bash', ['-n'], { input: bash, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    // Sourced in a real bash, completing "caduceus cr" offers create.
    const probe = spawnSync(
      'bash',
      ['-c', `${bash}\nCOMP_WORDS=(caduceus cr); COMP_CWORD=1; _caduceus; echo "\${COMPREPLY[@]}"`],
      { encoding: 'utf8' },
    );
    expect(probe.stdout.trim()).toBe('create');
    const sub = spawnSync(
      'bash',
      ['-c', `${bash}\nCOMP_WORDS=(caduceus create g); COMP_CWORD=2; _caduceus; echo "\${COMPREPLY[@]}"`],
      { encoding: 'utf8' },
    );
    expect(sub.stdout.trim()).toBe('gateway-role');
    expect((await cli(['completion', 'tcsh'])).code).toBe(2);
  });

  it('says plainly that the --listen address is taken, and exits 2', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    const state = tempDir('caduceus-state-');
    dirs.push(state);
    try {
      const r = await cli(['up', 'examples/repo', '--state-dir', state, '--listen', `127.0.0.1:${port}`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `caduceus: 127.0.0.1:${port} is already in use (another caduceus up?) ` +
          '(choose another address with --listen HOST:PORT (port 0 picks a free one))\n',
      );
    } finally {
      busy.close();
    }
  });
});
