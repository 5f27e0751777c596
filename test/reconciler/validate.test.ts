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

  it('flags chat channels and users written as names instead of platform ids, at each one', () => {
    const dir = repoWith({
      'gateway.yaml': `apiVersion: caduceus.dev/v1
kind: GatewayPolicy
metadata:
  name: chat
spec:
  platforms:
    discord:
      applicationId: "1187654321098765432"
      publicKey: {valueFrom: {env: DISCORD_PUBLIC_KEY}}
      channels: ["1187654321098765500", engineering-ops]
    slack:
      signingSecret: {valueFrom: {env: SLACK_SIGNING_SECRET}}
      channels: [C0123456789, "#ops"]
    telegram:
      secretToken: {valueFrom: {env: TG_SECRET}}
      botToken: {valueFrom: {env: TG_BOT}}
      channels: ["-1001234567890", "@ops_chat"]
  roles:
    - name: ops
      users: [discord:281734569012345678, slack:maria, telegram:42]
`,
    });
    const r = validate(['--format', 'json', dir]);
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.stdout) as Array<{ line: number; column: number; rule: string; message: string }>;
    expect(findings.map((f) => [f.line, f.column, f.rule])).toEqual([
      [10, 41, 'channel-id'],
      [13, 31, 'channel-id'],
      [17, 36, 'channel-id'],
      [20, 43, 'user-id'],
    ]);
    expect(findings[0]?.message).toMatch(/"engineering-ops" is not a Discord channel id: .*Copy Channel ID/);
    expect(findings[1]?.message).toMatch(/"#ops" is not a Slack channel id: .*C0123456789/);
    expect(findings[2]?.message).toMatch(/"@ops_chat" is not a Telegram chat id/);
    expect(findings[3]?.message).toMatch(/"slack:maria" is not a user id/);
  });

  it('writes one line per finding in text, escaping newlines and control characters of file names and messages', () => {
    const doc = (key: string): string =>
      'apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: x\nspec:\n  version: "1"\n' +
      `  description: d\n  ${key}: 1\n  steps:\n    - run: echo\n`;
    const dir = repoWith({
      'evil\nname.yaml': doc('"line\\nbreak"').replace('name: x', 'name: a'),
      'tricky.yaml': doc('"\\e[31mred\\u202Eevil"').replace('name: x', 'name: b'),
    });
    const r = validate([dir]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^evil\\nname\.yaml:8:3 {2}error {2}spec: unknown property "line\\nbreak" \(allowed: .*\) {2}\(schema\)$/,
      ),
      expect.stringMatching(
        /^tricky\.yaml:8:3 {2}error {2}spec: unknown property "\\x1b\[31mred\\u202eevil" \(allowed: .*\(schema\)$/,
      ),
      '2 error(s), 0 warning(s) in 2 file(s)',
    ]);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for raw control characters
    expect(r.stdout).not.toMatch(/[\u001b\u202e]/);
  });

  it('validates examples/repo clean', () => {
    const r = validate(['examples/repo']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^ok: \d+ resources in \d+ files\n$/);
    expect(r.code).toBe(0);
  });

  it('points every example file at the combined schema, which holds the schema of its kind', () => {
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
      const target = join(dirname(f), m?.[1] ?? '');
      expect(target).toBe(join(root, 'schemas', 'caduceus.schema.json'));
      const kind = /\nkind: (\w+)\n/.exec(text)?.[1] as string;
      const schema = JSON.parse(readFileSync(target, 'utf8')) as { $defs: Record<string, { title: string }> };
      expect(schema.$defs[kind]?.title).toBe(`Caduceus ${kind}`);
    }
  });
});
