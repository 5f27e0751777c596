// `caduceus validate` as CI runs it: the compiled CLI (dist/, built by `npm test`'s pretest
// or `npm run build`) spawned on real directories, in its three output formats, with its
// exit codes; and the shipped examples/repo validates clean.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/temp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/app/cli.js');

function validate(args: string[], cwd = root): { code: number | null; stdout: string; stderr: string } {
  if (!existsSync(cli)) throw new Error('dist/app/cli.js is missing: run `npm run build` first');
  const r = spawnSync(process.execPath, [cli, 'validate', ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function repoWith(files: Record<string, string>): string {
  const dir = tempDir('caduceus-validate-');
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

const GOOD = `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: hello
spec:
  version: "1.0.0"
  description: Says hello
  steps:
    - run: echo hello
`;
const BAD_TASK = `apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: review
spec:
  concurrency: 2
  colour: red
  subtasks:
    - name: greet
      skill: goodbye
`;
const BAD_PROXY = `apiVersion: caduceus.dev/v1
kind: Proxy
metadata:
  name: p
spec:
  keys: [sk-live-abc]
`;

describe('caduceus validate', () => {
  it('prints path:line:col  error  message  (rule) sorted by file and line, a summary, and exits 1', () => {
    const dir = repoWith({ 'skills/hello.yaml': GOOD, 'tasks/review.yaml': BAD_TASK, 'proxy.yaml': BAD_PROXY });
    const r = validate([dir]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      'proxy.yaml:6:10  error  spec.keys[0]: a secret may not be written in the repository; ' +
        'use valueFrom: {env: NAME} or valueFrom: {file: PATH}  (literal-secret)',
      'tasks/review.yaml:7:3  error  spec: unknown property "colour" ' +
        '(allowed: description, subtasks, concurrency, retry, timeout, schedule, isolation, delivery)  (schema)',
      'tasks/review.yaml:10:14  error  subtask "greet" calls skill "goodbye", which is not defined  (unknown-skill)',
      '3 error(s), 0 warning(s) in 2 file(s)',
    ]);
  });

  it('reports cross-reference errors of a file without schema errors', () => {
    const dir = repoWith({ 'skills/hello.yaml': GOOD, 'tasks/review.yaml': BAD_TASK.replace('  colour: red\n', '') });
    const r = validate([dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'tasks/review.yaml:9:14  error  subtask "greet" calls skill "goodbye", which is not defined  (unknown-skill)',
    );
  });

  it('writes a JSON array of findings with --format json', () => {
    const dir = repoWith({ 'tasks/review.yaml': BAD_TASK, 'proxy.yaml': BAD_PROXY });
    const r = validate(['--format', 'json', dir]);
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    for (const f of findings) expect(Object.keys(f)).toEqual(['file', 'line', 'column', 'severity', 'rule', 'message']);
    expect(findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.severity} ${f.rule}`)).toEqual([
      'proxy.yaml:6:10 error literal-secret',
      'tasks/review.yaml:7:3 error schema',
      'tasks/review.yaml:10:14 error unknown-skill',
    ]);
  });

  it('writes GitHub annotations with paths relative to the current directory', () => {
    const parent = tempDir('caduceus-gh-');
    const dir = join(parent, 'config');
    mkdirSync(join(dir, 'tasks'), { recursive: true });
    writeFileSync(join(dir, 'tasks/review.yaml'), BAD_TASK);
    const r = validate(['--format', 'github', 'config'], parent);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe(
      '::error file=config/tasks/review.yaml,line=7,col=3::spec: unknown property "colour" ' +
        '(allowed: description, subtasks, concurrency, retry, timeout, schedule, isolation, delivery) (schema)',
    );
  });

  it('exits 0 with an ok summary on a clean directory, and 0 when there are only warnings', () => {
    const clean = validate([repoWith({ 'hello.yaml': GOOD })]);
    expect(clean).toMatchObject({ code: 0, stdout: 'ok: 1 resources in 1 files\n' });
    const warned = validate([repoWith({ 'hello.yaml': GOOD.replace('echo hello', '!custom echo hello') })]);
    expect(warned.code).toBe(0);
    expect(warned.stdout).toContain('hello.yaml:9:12  warning  Unresolved tag: !custom  (yaml)');
    expect(warned.stdout).toContain('0 error(s), 1 warning(s) in 1 file(s)');
  });

  it('exits 2 on a usage error or a directory that cannot be read', () => {
    const missing = validate([join(tempDir(), 'absent')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ENOENT');
    expect(validate(['--format', 'xml', '.']).code).toBe(2);
    expect(validate(['--bogus']).code).toBe(2);
    expect(validate(['a', 'b']).code).toBe(2);
    const file = join(tempDir(), 'x.yaml');
    writeFileSync(file, GOOD);
    expect(validate([file]).code).toBe(2);
  });

  it('validates examples/repo clean', () => {
    const r = validate(['examples/repo']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^ok: \d+ resources in \d+ files\n$/);
    expect(r.code).toBe(0);
  });

  it('points every example file at the schema of its kind for editors', () => {
    const base = join(root, 'examples/repo');
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.name.startsWith('.')
          ? []
          : e.isDirectory()
            ? walk(join(d, e.name))
            : /\.ya?ml$/.test(e.name)
              ? [join(d, e.name)]
              : [],
      );
    const files = walk(base);
    expect(files.length).toBeGreaterThanOrEqual(11);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
      expect(m, relative(base, f)).not.toBeNull();
      const schema = JSON.parse(readFileSync(join(dirname(f), m?.[1] ?? ''), 'utf8')) as {
        properties: { kind: { const: string } };
      };
      expect(text).toContain(`\nkind: ${schema.properties.kind.const}\n`);
    }
  });
});
