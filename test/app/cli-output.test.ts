// The CLI as a shell pipeline sees it: a reader that goes away (`| head -1`) ends a
// command quietly, and text output shows control characters, newlines and bidi controls
// from file names, messages and run output as visible escapes, one record per line.

import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StateStore } from '../../reconciler/state/store.js';
import { CoreStore } from '../../reconciler/state/core-store.js';
import { RunStore } from '../../reconciler/state/runs.js';
import { configDir, doc } from '../helpers/config.js';
import { tempDir } from '../helpers/temp.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'app', 'cli.js');
const EVIL = 'bad\u001b[2J\u001b]0;pwned\u0007\r\nFAKE LINE\u202etxt.exe';

let state: string;
beforeAll(() => {
  spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  expect(existsSync(CLI)).toBe(true);
  state = tempDir();
  const store = new StateStore({ stateDir: state });
  const core = new CoreStore(store);
  const runs = new RunStore(store);
  store.tx(() => {
    for (let i = 0; i < 3000; i++) core.record(`Skill/s${i}`, 'Normal', 'Created', `${'x'.repeat(60)} ${EVIL}`);
    for (let i = 0; i < 2000; i++) {
      const id = runs.start({ kind: 'skill', name: `s${i}`, trigger: 'cli' });
      runs.finish(id, { status: 'failed', durationMs: 5, error: EVIL });
    }
  });
  core.recordAttempt(
    'rev-bad',
    'rejected',
    {
      errors: [{ file: EVIL, line: 1, column: 1, severity: 'error', rule: 'schema', message: EVIL }],
    },
    [],
  );
  store.close();
}, 180_000);

/** Runs the CLI, reads the first bytes of its stdout and closes the pipe, like `| head -c 1`. */
function firstBytesThenClose(args: string[]): Promise<{ code: number | null; stderr: string; first: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let first = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', (d: Buffer) => {
      first = d.toString().slice(0, 40);
      child.stdout.destroy();
    });
    child.on('close', (code) => resolve({ code, stderr, first }));
  });
}

describe('a closed pipe', () => {
  it.each([
    ['events', ['events', '--limit', '3000'], /^TIME +TYPE +REASON /],
    ['runs', ['runs', '--limit', '2000'], /^STARTED +KIND +NAME /],
    ['events --json', ['events', '--limit', '3000', '--json'], /^\[\n {2}\{\n {4}"id": \d+,/],
    ['runs --json', ['runs', '--limit', '2000', '--json'], /^\[\n {2}\{\n {4}"id": "[0-9a-f-]+/],
  ])('ends `caduceus %s | head` quietly', async (_name, args, start) => {
    const r = await firstBytesThenClose([...args, '--state-dir', state]);
    // The reader saw the output begin (the header, or the first record) before it went away.
    expect(r.first).toMatch(start);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('ends `caduceus validate` with many findings quietly, keeping its exit code 1', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) files[`s${i}.yaml`] = doc('Skill', `s${i}`, { version: '1', description: 'd' });
    const r = await firstBytesThenClose(['validate', configDir(files)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
  });
});

describe('text output', () => {
  const lines = (args: string[]): string[] =>
    spawnSync(process.execPath, [CLI, ...args, '--state-dir', state], { encoding: 'utf8' }).stdout.split('\n');

  it.each([
    ['events', ['events', '--limit', '5'], 6],
    ['runs', ['runs', '--limit', '5'], 6],
  ])('prints one line per record of `%s`, with control characters escaped', (_name, args, count) => {
    const out = lines(args).filter((l) => l !== '');
    expect(out).toHaveLength(count);
    for (const l of out.slice(1)) {
      expect(l).toContain('bad\\x1b[2J\\x1b]0;pwned\\x07');
      // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may be left
      expect(l).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
    }
  });

  it('escapes file names and messages of a rejected revision in `status`', () => {
    const out = lines(['status']).join('\n');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character but newlines may be left
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/);
    expect(out).not.toContain('\nFAKE LINE');
    expect(out).toContain('    bad\\x1b[2J');
  });
});
