// The loader: every error class at its exact file:line:column, all errors of a revision in
// one run, defaults and hashes of the resources, the content cache, and directory loading.

import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Loader, isConfigPath, loadDirectory } from '../../reconciler/loader.js';
import { gitBlobId, type SourceFile } from '../../reconciler/source-file.js';
import type { Finding, Resource } from '../../reconciler/types.js';
import { resourceHash } from '../../reconciler/resource-facts.js';
import { skillYaml } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';

/** In-memory source files; `reads` counts read() calls per path. */
function sources(files: Record<string, string | Buffer>, reads?: Map<string, number>): SourceFile[] {
  return Object.entries(files).map(([path, content]) => {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
    return {
      path,
      id: createHash('sha1').update(bytes).digest('hex'),
      read: async () => {
        reads?.set(path, (reads.get(path) ?? 0) + 1);
        return bytes;
      },
    };
  });
}

async function load(files: Record<string, string | Buffer>): Promise<Awaited<ReturnType<Loader['load']>>> {
  return new Loader().load(sources(files));
}

const at = (f: Finding): string => `${f.file}:${f.line}:${f.column} ${f.rule}`;

function skill(name: string, extra = '', steps = '    - run: echo hi\n'): string {
  return skillYaml(name, 'echo hi', { description: `Skill ${name}`, extra, steps });
}

const PARAMS = `  aliases: [old-report]
  params:
    - name: window
      type: duration
      required: true
    - name: limit
      type: number
      default: 10
    - name: mode
      type: enum
      values: [fast, full]
`;

describe('schema errors at the offending node', () => {
  it('reports an unknown property at its key', async () => {
    const text = skill('a').replace('  version: "1.0.0"\n', '  version: "1.0.0"\n  bogus: 1\n');
    const { findings, resources } = await load({ 'skills/a.yaml': text });
    expect(findings.map(at)).toEqual(['skills/a.yaml:7:3 schema']);
    expect(findings[0]?.message).toContain('unknown property "bogus"');
    expect(resources).toEqual([]);
  });

  it('reports a missing property at the parent mapping', async () => {
    const text = `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: a
spec:
  description: no version
  steps:
    - run: echo
`;
    const { findings } = await load({ 'a.yaml': text });
    expect(findings.map(at)).toEqual(['a.yaml:6:3 schema']);
    expect(findings[0]?.message).toBe('spec: missing required property "version"');
  });

  it('refuses a literal secret with a message that says to use valueFrom', async () => {
    const text = `apiVersion: caduceus.dev/v1
kind: Proxy
metadata:
  name: p
spec:
  keys:
    - sk-live-1234567890
`;
    const { findings } = await load({ 'proxy.yaml': text });
    expect(findings.map(at)).toEqual(['proxy.yaml:7:7 literal-secret']);
    expect(findings[0]?.message).toContain('valueFrom');
  });

  it('needs exactly one of run, http, file, skill in a step and one of skill, run, prompt in a subtask', async () => {
    const s = skill('a', '', '    - run: echo\n      file: {path: x, action: read}\n    - name: nothing\n');
    const t = `apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: t
spec:
  subtasks:
    - name: both
      run: echo
      prompt: hello
    - name: none
`;
    const { findings } = await load({ 'a.yaml': s, 't.yaml': t });
    expect(findings.map(at)).toEqual([
      'a.yaml:9:7 schema',
      'a.yaml:11:7 schema',
      't.yaml:7:7 schema',
      't.yaml:10:7 schema',
    ]);
    expect(findings[0]?.message).toBe('spec.steps[0]: sets run and file; keep exactly one of run, http, file, skill');
    expect(findings[1]?.message).toBe('spec.steps[1]: needs exactly one of run, http, file, skill');
    expect(findings[3]?.message).toBe('spec.subtasks[1]: needs exactly one of skill, run, prompt');
  });

  it('reports a bad duration, a bad DNS name and a wrong type at the value', async () => {
    const text = skill('Bad_Name', '  timeout: 10 minutes\n  aliases: old\n');
    const { findings } = await load({ 'a.yaml': text });
    expect(findings.map(at)).toEqual(['a.yaml:4:9 schema', 'a.yaml:8:12 schema', 'a.yaml:9:12 schema']);
    expect(findings.map((f) => f.message)).toEqual([
      'metadata.name: must be a DNS label: lower-case letters, digits and "-", ' +
        'starting and ending with a letter or digit',
      'spec.timeout: must be a duration greater than zero, such as 500ms, 30s, 5m, 1h30m or 14d ' +
        '(0 would switch off what it bounds)',
      'spec.aliases: must be an array',
    ]);
  });

  it('reports an unknown kind and an unknown apiVersion at their values', async () => {
    const text = `apiVersion: caduceus.dev/v1
kind: Widget
metadata:
  name: w
---
apiVersion: caduceus.dev/v2
kind: Skill
metadata:
  name: s
`;
    const { findings } = await load({ 'x.yaml': text });
    expect(findings.map(at)).toEqual(['x.yaml:2:7 unknown-kind', 'x.yaml:6:13 unknown-api-version']);
  });
});

describe('files that are not sound YAML', () => {
  it('reports a duplicate key at the second occurrence', async () => {
    const text = skill('a').replace('  description: Skill a\n', '  description: Skill a\n  description: again\n');
    const { findings } = await load({ 'a.yaml': text });
    expect(findings.map(at)).toEqual(['a.yaml:8:3 duplicate-key']);
  });

  it('reports syntax errors with their position and keeps loading the other files', async () => {
    const { findings, resources } = await load({
      'bad.yaml': 'spec:\n  steps: [1, 2\nkind: "open\n',
      'good.yaml': skill('good'),
    });
    expect(findings.map(at)).toEqual(['bad.yaml:3:1 yaml-syntax', 'bad.yaml:4:1 yaml-syntax']);
    expect(resources.map((r) => r.metadata.name)).toEqual(['good']);
  });

  it('refuses an alias bomb at its first alias instead of expanding it', async () => {
    const rows = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [n, p] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ] as const)
      rows.push(`${n}: &${n} [${Array(10).fill(`*${p}`).join(', ')}]`);
    const { findings } = await load({ 'bomb.yaml': `${rows.join('\n')}\n` });
    expect(findings.map(at)).toEqual(['bomb.yaml:2:8 alias-limit']);
  });

  it('refuses a file over 1 MiB without parsing it', async () => {
    const big = skill('big', `  # ${'x'.repeat(1024 * 1024)}\n`);
    const { findings } = await load({ 'big.yaml': big });
    expect(findings.map(at)).toEqual(['big.yaml:1:1 file-too-large']);
  });

  it('reports the first byte that is not UTF-8', async () => {
    const bytes = Buffer.concat([
      Buffer.from('apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: caf'),
      Buffer.from([0xe9]),
      Buffer.from('\n'),
    ]);
    const { findings } = await load({ 'latin1.yaml': bytes });
    expect(findings.map(at)).toEqual(['latin1.yaml:4:12 encoding']);
  });

  it('skips empty documents and comment-only files', async () => {
    const { findings, resources } = await load({
      'a.yaml': `---\n# nothing\n---\n${skill('a')}---\n`,
      'notes.yaml': '# only a comment\n',
    });
    expect(findings).toEqual([]);
    expect(resources.map((r) => [r.metadata.name, r.source.line])).toEqual([['a', 4]]);
  });
});

describe('cross-reference checks', () => {
  it('reports a duplicate resource at the second one, naming the first', async () => {
    const { findings, resources } = await load({ 'a.yaml': skill('dup'), 'b.yaml': `# again\n${skill('dup')}` });
    expect(findings.map(at)).toEqual(['b.yaml:5:9 duplicate-resource']);
    expect(findings[0]?.message).toContain('a.yaml:4:9');
    expect(resources).toHaveLength(1);
  });

  it('resolves skills through their aliases and reports unknown skills and tasks', async () => {
    const task = `apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: review
spec:
  subtasks:
    - name: by-alias
      skill: old-report
      params: {window: 1h}
    - name: missing
      skill: nope
`;
    const gateway = `apiVersion: caduceus.dev/v1
kind: GatewayPolicy
metadata:
  name: g
spec:
  roles:
    - name: admin
      permissions:
        tasks: [review, ghost-task]
        skills: [old-report, ghost-skill]
`;
    const proxy = `apiVersion: caduceus.dev/v1
kind: Proxy
metadata:
  name: p
spec:
  keys: [{valueFrom: {env: KEY}}]
  preload: [report, old-report, ghost]
`;
    const { findings } = await load({
      'report.yaml': skill('report', PARAMS),
      'task.yaml': task,
      'gateway.yaml': gateway,
      'proxy.yaml': proxy,
    });
    expect(findings.map(at)).toEqual([
      'gateway.yaml:9:25 unknown-task',
      'gateway.yaml:10:30 unknown-skill',
      'proxy.yaml:7:33 unknown-skill',
      'task.yaml:11:14 unknown-skill',
    ]);
  });

  it('checks the parameters of skill calls from steps and subtasks', async () => {
    const caller = skill(
      'caller',
      '',
      '    - skill:\n        name: report\n' +
        '        params:\n          limit: many\n          extra: 1\n          mode: slow\n',
    );
    const task = `apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: t
spec:
  subtasks:
    - name: no-params
      skill: report
    - name: ok
      skill: old-report
      params:
        window: 72h
        limit: 5
        mode: full
    - name: bad-duration
      skill: report
      params:
        window: soon
`;
    const { findings } = await load({ 'report.yaml': skill('report', PARAMS), 'caller.yaml': caller, 't.yaml': task });
    expect(findings.map((f) => `${at(f)} ${f.message}`)).toEqual([
      // A missing parameter is reported at the params mapping, which starts at its first key.
      'caller.yaml:12:11 param-type step 1: parameter "limit" of skill report must be a number, got "many"',
      'caller.yaml:12:11 missing-param step 1: skill report needs parameter "window"',
      'caller.yaml:13:11 unknown-param step 1: skill report has no parameter "extra" (it takes window, limit, mode)',
      'caller.yaml:14:11 param-type step 1: parameter "mode" of skill report must be one of fast, full, got "slow"',
      't.yaml:8:14 missing-param subtask "no-params": skill report needs parameter "window"',
      't.yaml:18:9 param-type subtask "bad-duration": parameter "window" of skill report ' +
        'must be a duration such as 30s, 5m or 72h, got "soon"',
    ]);
  });

  it('reports a skill call cycle once, at the call that closes it', async () => {
    const a = skill('a', '', '    - skill: {name: b}\n');
    const b = skill('b', '', '    - run: echo\n    - skill: {name: c}\n');
    const c = skill('c', '  aliases: [old-c]\n', '    - skill: {name: a}\n');
    const self = skill('self', '', '    - skill: {name: self}\n');
    const { findings } = await load({ 'a.yaml': a, 'b.yaml': b, 'c.yaml': c, 'self.yaml': self });
    expect(findings.map((f) => `${at(f)} ${f.message}`)).toEqual([
      'c.yaml:10:21 skill-cycle skill call cycle: a → b → c → a',
      'self.yaml:9:21 skill-cycle skill call cycle: self → self',
    ]);
  });

  it('allows one Runtime and caps task concurrency at its maximum', async () => {
    const runtime = (name: string, max: number): string =>
      `apiVersion: caduceus.dev/v1\nkind: Runtime\nmetadata:\n  name: ${name}\n` +
      `spec:\n  concurrency:\n    maximum: ${max}\n`;
    const task =
      'apiVersion: caduceus.dev/v1\nkind: Task\nmetadata:\n  name: t\n' +
      'spec:\n  concurrency: 5\n  subtasks:\n    - {name: x, run: echo}\n';
    const one = await load({ 'r.yaml': runtime('main', 4), 't.yaml': task });
    expect(one.findings.map(at)).toEqual(['t.yaml:6:16 concurrency-limit']);
    const two = await load({ 'r.yaml': runtime('main', 8), 'r2.yaml': runtime('other', 8), 't.yaml': task });
    expect(two.findings.map(at)).toEqual(['r2.yaml:4:9 multiple-runtimes']);
  });

  it('reports clashing aliases, duplicate parameters and step ids, and a default of the wrong type', async () => {
    const a = skill('a', '  aliases: [shared]\n');
    const b = skill(
      'b',
      '  aliases: [shared, a]\n  params:\n    - {name: n, type: number, default: "ten"}\n    - {name: n}\n' +
        '    - {name: m}\n    - {name: n}\n',
      '    - {id: out, run: echo}\n    - {id: OUT, run: echo}\n    - {id: x, run: echo}\n    - {id: out, run: echo}\n',
    );
    const { findings } = await load({ 'a.yaml': a, 'b.yaml': b });
    expect(findings.map((f) => `${at(f)} ${f.message}`)).toEqual([
      'b.yaml:8:13 duplicate-alias alias "shared" of skill b is already a name or alias of skill a at a.yaml:8:13',
      'b.yaml:8:21 duplicate-alias alias "a" of skill b is already a name or alias of skill a at a.yaml:4:9',
      'b.yaml:10:40 param-type default of parameter "n" must be a number, got "ten"',
      'b.yaml:11:14 duplicate-param parameter "n" is declared twice (first as item 1)',
      'b.yaml:13:14 duplicate-param parameter "n" is declared twice (first as item 1)',
      'b.yaml:16:12 duplicate-step-id step id "OUT" is already used by step 1',
      'b.yaml:18:12 duplicate-step-id step id "out" is already used by step 1',
    ]);
  });

  it('turns a file that cannot be read into a finding', async () => {
    const broken: SourceFile = {
      path: 'gone.yaml',
      id: 'x',
      read: async () => Promise.reject(new Error('EACCES: permission denied')),
    };
    const { findings } = await new Loader().load([broken, ...sources({ 'ok.yaml': skill('ok') })]);
    expect(findings.map(at)).toEqual(['gone.yaml:1:1 unreadable']);
  });

  it('refuses a public proxy bind without tls unless allowPublicBind is set', async () => {
    const proxy = (extra: string): string =>
      'apiVersion: caduceus.dev/v1\nkind: Proxy\nmetadata:\n  name: p\n' +
      `spec:\n  bind: 0.0.0.0\n  keys: [{valueFrom: {env: KEY}}]\n${extra}`;
    expect((await load({ 'p.yaml': proxy('') })).findings.map(at)).toEqual(['p.yaml:6:9 public-bind']);
    expect((await load({ 'p.yaml': proxy('  allowPublicBind: true\n') })).findings).toEqual([]);
    expect((await load({ 'p.yaml': proxy('  tls: {cert: c.pem, key: k.pem}\n') })).findings).toEqual([]);
  });
});

describe('a revision with many errors', () => {
  it('reports every error in one run, references of invalid documents included, sorted by position', async () => {
    const text = `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: multi
spec:
  version: 1
  description: Many problems
  colour: blue
  steps:
    - run: echo
      http: {url: "http://127.0.0.1"}
    - skill: {name: ghost}
---
apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: t
spec:
  timeout: forever
  subtasks:
    - name: s
      skill: ghost
---
apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: t2
spec:
  subtasks:
    - name: s
      skill: ghost
`;
    const { findings } = await load({ 'z.yaml': skill('fine'), 'multi.yaml': text, 'a.yaml': 'kind: [' });
    expect(findings.map(at)).toEqual([
      'a.yaml:1:8 yaml-syntax',
      'multi.yaml:6:12 schema',
      'multi.yaml:8:3 schema',
      'multi.yaml:10:7 schema',
      'multi.yaml:12:21 unknown-skill',
      'multi.yaml:19:12 schema',
      'multi.yaml:22:14 unknown-skill',
      'multi.yaml:31:14 unknown-skill',
    ]);
    const sorted = [...findings].sort((x, y) => x.file.localeCompare(y.file) || x.line - y.line || x.column - y.column);
    expect(findings).toEqual(sorted);
  });
});

describe('resources', () => {
  it('fills defaults, records the document start and hashes the canonical content', async () => {
    const text = `# a leading comment\n---\n${skill('a')}`;
    const { resources } = await load({ 'skills/a.yaml': text });
    const r = resources[0];
    expect(r?.source).toEqual({ file: 'skills/a.yaml', line: 3, column: 1 });
    expect(r?.spec).toMatchObject({ timeout: '10m', params: [], aliases: [] });
    const reordered =
      'apiVersion: caduceus.dev/v1\nkind: Skill\nspec:\n  steps:\n    - run: echo hi\n' +
      '  description: Skill a\n  version: "1.0.0"\nmetadata:\n  name: a\n';
    const again = (await load({ 'other.yaml': reordered })).resources[0];
    expect(again?.hash).toBe(r?.hash);
    expect(r?.hash).toMatch(/^[0-9a-f]{64}$/);
    const changed = (await load({ 'a.yaml': skill('a').replace('echo hi', 'echo ho') })).resources[0];
    expect(changed?.hash).not.toBe(r?.hash);
  });

  it('carries the hash as a field, in JSON as in copies', async () => {
    const r = (await load({ 'skills/a.yaml': skill('a') })).resources[0] as Resource;
    // The state store keeps applied resources as JSON and reads their hash back from it.
    const stored = JSON.parse(JSON.stringify(r)) as Resource;
    expect(stored.hash).toBe(r.hash);
    expect({ ...r }.hash).toBe(r.hash);
    expect(r.hash).toBe(resourceHash({ apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec }));
  });

  it('keeps no resources when asked, with the same findings and the same count of accepted documents', async () => {
    const files = {
      'skills/a.yaml': skill('a', PARAMS),
      // Invalid: a skill the task calls fails its schema, so the call is not checked against it.
      'skills/bad.yaml': 'apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: bad\nspec:\n  version: 1\n',
      'tasks/t.yaml':
        'apiVersion: caduceus.dev/v1\nkind: Task\nmetadata:\n  name: t\nspec:\n  subtasks:\n' +
        '    - name: one\n      skill: a\n      params: {nope: 1}\n    - name: two\n      skill: bad\n' +
        '    - name: three\n      skill: missing\n',
      'skills/c.yaml': skill('c'),
    };
    const kept = await new Loader().load(sources(files));
    const checked = await new Loader({}, { keepResources: false }).load(sources(files));
    expect(checked.resources).toEqual([]);
    expect(kept.accepted).toBe(kept.resources.length);
    expect(checked.accepted).toBe(kept.accepted);
    expect(checked.findings).toEqual(kept.findings);
    expect(kept.findings.map((f) => `${f.file} ${f.rule}`)).toEqual(
      expect.arrayContaining(['skills/bad.yaml schema', 'tasks/t.yaml unknown-param', 'tasks/t.yaml unknown-skill']),
    );
  });
});

describe('the content cache', () => {
  const task =
    'apiVersion: caduceus.dev/v1\nkind: Task\nmetadata:\n  name: t\n' +
    'spec:\n  subtasks:\n    - name: s\n      skill: report\n      params: {window: 1h}\n';

  it('parses nothing on a second load of unchanged files', async () => {
    const reads = new Map<string, number>();
    const loader = new Loader();
    const files = sources({ 'report.yaml': skill('report', PARAMS), 't.yaml': task }, reads);
    const first = await loader.load(files);
    expect(loader.lastParsed).toBe(2);
    const second = await loader.load(files);
    expect(loader.lastParsed).toBe(0);
    expect(reads.get('report.yaml')).toBe(1);
    expect(second).toEqual(first);
  });

  it('forgets a file that left the revision: it is not a resource, and parsed again when it comes back', async () => {
    const loader = new Loader();
    const both = { 'report.yaml': skill('report', PARAMS), 't.yaml': task };
    await loader.load(sources(both));
    const without = await loader.load(sources({ 't.yaml': task }));
    expect(without.resources.map((r) => r.metadata.name)).toEqual(['t']);
    expect(without.findings.map(at)).toEqual(['t.yaml:8:14 unknown-skill']);
    expect(loader.lastParsed).toBe(0);
    const back = await loader.load(sources(both));
    expect(loader.lastParsed).toBe(1);
    expect(back.findings).toEqual([]);
    expect(back.resources.map((r) => r.metadata.name).sort()).toEqual(['report', 't']);
  });

  it('re-parses only the changed file and still checks references across all files', async () => {
    const loader = new Loader();
    await loader.load(sources({ 'report.yaml': skill('report', PARAMS), 't.yaml': task }));
    // The skill now requires a parameter the unchanged task does not pass.
    const stricter = PARAMS.replace(
      '    - name: mode\n',
      '    - name: region\n      required: true\n    - name: mode\n',
    );
    const { findings } = await loader.load(sources({ 'report.yaml': skill('report', stricter), 't.yaml': task }));
    expect(loader.lastParsed).toBe(1);
    expect(findings.map(at)).toEqual(['t.yaml:9:15 missing-param']);
    expect(loader.totalParsed).toBe(3);
  });

  it('checks an unchanged call again whenever the skill it reaches or its own file changes', async () => {
    const loader = new Loader();
    const strict = PARAMS.replace('    - name: mode\n', '    - name: region\n      required: true\n    - name: mode\n');
    const rules = async (files: Record<string, string>): Promise<string[]> =>
      (await loader.load(sources(files))).findings.map(at);
    expect(await rules({ 'report.yaml': skill('report', strict), 't.yaml': task })).toEqual([
      't.yaml:9:15 missing-param',
    ]);
    // Same call, same callee: the same finding; the caller renamed: the finding moves with it.
    expect(await rules({ 'report.yaml': skill('report', strict), 't.yaml': task })).toEqual([
      't.yaml:9:15 missing-param',
    ]);
    expect(await rules({ 'report.yaml': skill('report', strict), 'u.yaml': task })).toEqual([
      'u.yaml:9:15 missing-param',
    ]);
    // The callee fixed, then gone, then back under an alias: the unchanged call follows each.
    expect(await rules({ 'report.yaml': skill('report', PARAMS), 'u.yaml': task })).toEqual([]);
    expect(await rules({ 'u.yaml': task })).toEqual(['u.yaml:8:14 unknown-skill']);
    const aliased = skill('reporting', `  aliases: [report]\n${strict.replace('  aliases: [old-report]\n', '')}`);
    expect(await rules({ 'r.yaml': aliased, 'u.yaml': task })).toEqual(['u.yaml:9:15 missing-param']);
    // The task was parsed once: each verdict above came from the checks across files.
    expect(loader.totalParsed).toBe(4);
  });

  it('shares the parse of equal content under different paths', async () => {
    const loader = new Loader();
    const { findings } = await loader.load(sources({ 'a/x.yaml': skill('x'), 'b/x.yaml': skill('x') }));
    expect(findings.map(at)).toEqual(['b/x.yaml:4:9 duplicate-resource']);
  });
});

describe('loadDirectory', () => {
  it('reads *.yaml and *.yml, skipping dot-directories, node_modules and the top-level archive', async () => {
    const dir = tempDir();
    const put = (rel: string, text: string): void => {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), text);
    };
    put('skills/a.yaml', skill('a'));
    put('skills/b.yml', skill('b'));
    put('skills/archive/c.yaml', skill('c')); // only the top-level archive/ is skipped
    put('archive/old.yaml', skill('a')); // would be a duplicate if it were read
    put('.github/workflows/ci.yml', 'on: push\n');
    put('node_modules/x/y.yaml', 'not: [valid');
    put('notes.txt', 'not yaml');
    const { resources, findings } = await loadDirectory(dir);
    expect(findings).toEqual([]);
    expect(resources.map((r) => `${r.source.file} ${r.metadata.name}`)).toEqual([
      'skills/a.yaml a',
      'skills/archive/c.yaml c',
      'skills/b.yml b',
    ]);
  });

  it('rejects a missing directory with a CaduceusError', async () => {
    await expect(loadDirectory(join(tempDir(), 'nope'))).rejects.toMatchObject({ code: 'ConfigDirUnreadable' });
  });

  it('applies the same path rules to source files from git', () => {
    expect(
      [
        'a.yaml',
        'x/b.YML',
        'archive/a.yaml',
        '.github/w.yml',
        'x/.hidden.yaml',
        'x/.d/a.yaml',
        'x/archive/a.yaml',
        'a.json',
        'node_modules/a.yaml',
        'x/node_modules/a.yaml',
        'x/node_modules_a.yaml',
        'x/my.dir/a.yaml',
        'archived/a.yaml',
      ].filter(isConfigPath),
    ).toEqual(['a.yaml', 'x/b.YML', 'x/archive/a.yaml', 'x/node_modules_a.yaml', 'x/my.dir/a.yaml', 'archived/a.yaml']);
    expect(gitBlobId(Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });
});
