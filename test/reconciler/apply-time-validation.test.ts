// What a revision will fail on when it is applied is a validation finding instead, at its
// file:line:column, in `validate` and in `up`: cron expressions and time zones, values that
// switch a limit off (0s, memory 0), parameters whose environment names collide, memory
// below Docker's minimum, shells that do not exist, and input nested deeper than the
// parsers can follow.

import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { Loader } from '../../reconciler/loader.js';
import type { SourceFile } from '../../reconciler/source-file.js';
import type { Finding } from '../../reconciler/types.js';
import { MAX_NESTING } from '../../reconciler/yaml-depth.js';
import { commitAll, makeRepo, writeFiles } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/wait.js';
import { appStarter } from '../helpers/app.js';

function sources(files: Record<string, string>): SourceFile[] {
  return Object.entries(files).map(([path, content]) => {
    const bytes = Buffer.from(content);
    return { path, id: createHash('sha1').update(bytes).digest('hex'), read: async () => bytes };
  });
}

async function findingsOf(files: Record<string, string>): Promise<Finding[]> {
  return (await new Loader().load(sources(files))).findings.filter((f) => f.severity === 'error');
}

const at = (f: Finding): string => `${f.file}:${f.line}:${f.column} ${f.rule}`;
const yamlDoc = (kind: string, name: string, spec: unknown): string =>
  stringify({ apiVersion: 'caduceus.dev/v1', kind, metadata: { name }, spec });
const task = (schedule: Record<string, string>): string =>
  yamlDoc('Task', 't', { subtasks: [{ name: 's', run: 'true' }], schedule });

describe('schedules', () => {
  // Line 10 is `    cron: …` and line 11 `    timezone: …` in the YAML the `yaml` library writes;
  // the schema catches a wrong shape, node-cron a field out of range.
  it.each([
    ['a minute out of range', { cron: '61 * * * *', timezone: 'UTC' }, 't.yaml:10:11 schedule'],
    ['an hour out of range', { cron: '0 24 * * *', timezone: 'UTC' }, 't.yaml:10:11 schedule'],
    ['a weekday that is no day', { cron: '0 3 * * funday', timezone: 'UTC' }, 't.yaml:10:11 schedule'],
    ['too many fields', { cron: '* * * * * * *', timezone: 'UTC' }, 't.yaml:10:11 schema'],
    ['an unknown time zone', { cron: '0 3 * * *', timezone: 'Mars/Olympus' }, 't.yaml:11:15 schedule'],
    ['an offset that is no zone name', { cron: '0 3 * * *', timezone: 'GMT+25' }, 't.yaml:11:15 schedule'],
  ])('rejects a task schedule with %s at its position', async (_what, schedule, where) => {
    const findings = await findingsOf({ 't.yaml': task(schedule) });
    expect(findings.map(at)).toEqual([where]);
  });

  it('accepts the schedules the scheduler accepts', async () => {
    for (const schedule of [
      { cron: '0 3 * * *', timezone: 'UTC' },
      { cron: '*/5 * * * * *', timezone: 'Europe/Paris' },
      { cron: '0 6 * * 1-5', timezone: 'America/New_York' },
    ])
      expect(await findingsOf({ 't.yaml': task(schedule) })).toEqual([]);
  });

  it('rejects a curator cron and time zone at their positions', async () => {
    const text = yamlDoc('Curator', 'c', { schedule: { cron: '0 25 * * *', timezone: 'Nowhere/City' } });
    expect((await findingsOf({ 'c.yaml': text })).map(at)).toEqual(['c.yaml:7:11 schedule', 'c.yaml:8:15 schedule']);
  });
});

describe('values that would switch a limit off', () => {
  it.each([
    ['gateway rate window 0s', 'GatewayPolicy', { platforms: {}, roles: [], rateLimit: { requests: 5, per: '0s' } }],
    [
      'gateway rate window 0m0s',
      'GatewayPolicy',
      { platforms: {}, roles: [], rateLimit: { requests: 5, per: '0m0s' } },
    ],
    ['task timeout 0ms', 'Task', { subtasks: [{ name: 's', run: 'true' }], timeout: '0ms' }],
    ['subtask timeout 0s', 'Task', { subtasks: [{ name: 's', run: 'true', timeout: '0s' }] }],
    ['curator interval 0d', 'Curator', { schedule: { every: '0d' } }],
    ['retry delay 0s', 'Runtime', { retry: { initialDelay: '0s' } }],
    ['memory 0', 'Runtime', { isolation: { memory: '0' } }],
    ['memory 0Mi', 'Runtime', { isolation: { memory: '0Mi' } }],
    ['pids 0', 'Runtime', { isolation: { pids: 0 } }],
    ['cpus 0', 'Runtime', { isolation: { cpus: 0 } }],
    ['a skill memory of 1Mi (below Docker minimum)', 'Skill', skillSpec({ isolation: { memory: '1Mi' } })],
    ['a task pids limit of 0', 'Task', { subtasks: [{ name: 's', run: 'true' }], isolation: { pids: 0 } }],
  ])('rejects %s', async (_what, kind, spec) => {
    const findings = await findingsOf({ 'x.yaml': yamlDoc(kind, 'x', spec) });
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.file === 'x.yaml' && f.line > 5)).toBe(true);
  });

  it('accepts `unlimited` written out, and limits above the minimum', async () => {
    const spec = { isolation: { memory: 'unlimited', cpus: 'unlimited', pids: 'unlimited' } };
    expect(await findingsOf({ 'r.yaml': yamlDoc('Runtime', 'r', spec) })).toEqual([]);
    const small = { isolation: { memory: '6Mi', cpus: 0.25, pids: 1 } };
    expect(await findingsOf({ 'r.yaml': yamlDoc('Runtime', 'r', small) })).toEqual([]);
  });
});

function skillSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: '1', description: 'd', steps: [{ run: 'true' }], ...extra };
}

describe('skill params and steps', () => {
  it.each([
    ['foo-bar', 'foo_bar'],
    ['foo_bar', 'FOO_BAR'],
    ['Wait-For', 'wait_for'],
  ])('rejects params %s and %s, which both arrive as one PARAM_ variable', async (a, b) => {
    const text = yamlDoc('Skill', 's', skillSpec({ params: [{ name: a }, { name: b }] }));
    const findings = await findingsOf({ 's.yaml': text });
    expect(findings.map(at)).toEqual(['s.yaml:12:13 param-env-collision']);
    expect(findings[0]?.message).toContain(`PARAM_${a.toUpperCase().replace(/-/g, '_')}`);
  });

  it('rejects a shell that is not bash or sh, and a shell on a step that runs no command', async () => {
    const zsh = yamlDoc('Skill', 's', skillSpec({ steps: [{ run: 'true', shell: 'zsh' }] }));
    expect((await findingsOf({ 's.yaml': zsh })).map(at)).toEqual(['s.yaml:10:14 schema']);
    const onSkill = yamlDoc('Task', 't', { subtasks: [{ name: 'a', skill: 'x', shell: 'sh' }] });
    expect((await findingsOf({ 't.yaml': onSkill })).map((f) => f.rule)).toContain('schema');
  });
});

describe('nesting deeper than the parsers follow', () => {
  const header = 'apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: deep\nspec:\n';
  const n = 5000;
  it.each([
    ['flow sequences', `${header}  x: ${'['.repeat(n)}${']'.repeat(n)}\n`],
    ['flow mappings', `${header}  x: ${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`],
    ['compact block sequences', `${header}  x:\n    ${'- '.repeat(n)}a\n`],
    ['block mappings', header + Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i + 1)}k:\n`).join('')],
    ['flow after a stray quote in a plain scalar', `${header}  d: it's\n  x: ${'['.repeat(n)}${']'.repeat(n)}\n`],
    ['flow after a block scalar', `${header}  d: |\n    text\n  x: ${'['.repeat(n)}${']'.repeat(n)}\n`],
    ['a second document', `${header}  x: 1\n---\n${header}  x: ${'['.repeat(n)}${']'.repeat(n)}\n`],
  ])('reports %s as a finding at the line where they get too deep', async (_what, text) => {
    const findings = await findingsOf({ 'deep.yaml': text });
    expect(findings.map((f) => f.rule)).toEqual(['nesting-depth']);
    const line = text.split('\n')[(findings[0]?.line ?? 0) - 1] ?? '';
    expect(line.length).toBeGreaterThan(MAX_NESTING);
  });

  it('leaves the deepest real configuration alone', async () => {
    const ok =
      `${header}  version: "1"\n  description: d\n  steps:\n    - http:\n` +
      '        url: http://127.0.0.1/\n        headers:\n          x: "[{"\n';
    expect(await findingsOf({ 'ok.yaml': ok })).toEqual([]);
  });
});

const start = appStarter();

describe('in `up`', () => {
  it('rejects a revision with an invalid schedule or deep nesting and keeps the last good one', async () => {
    const repo = makeRepo({ 'tasks/t.yaml': task({ cron: '0 3 * * *', timezone: 'UTC' }) });
    const good = commitAll(repo, 'good');
    const app = await start({ repo, stateDir: tempDir() });
    await app.waitForRevision(good);
    writeFiles(repo, {
      'tasks/t.yaml': task({ cron: '0 3 * * *', timezone: 'Mars/Olympus' }),
      'deep.yaml':
        'apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: d\n' +
        `spec:\n  x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
    });
    const bad = commitAll(repo, 'bad');
    await eventually(() => expect(app.core.sourceState().lastAttemptedRevision).toBe(bad));
    const state = app.core.sourceState();
    expect(state.lastAttemptOutcome).toBe('rejected');
    expect(state.lastAppliedRevision).toBe(good);
    expect(state.lastAttemptErrors.map((f) => `${f.file} ${f.rule}`)).toEqual([
      'deep.yaml nesting-depth',
      'tasks/t.yaml schedule',
    ]);
  });
});

describe('what only one resource may hold', () => {
  const policy = (name: string, platforms: Record<string, unknown>): string =>
    yamlDoc('GatewayPolicy', name, { platforms, roles: [] });
  const slack = { signingSecret: { valueFrom: { env: 'SLACK_SECRET' } }, channels: ['C1'] };
  const proxy = (name: string, port: number, bind = '127.0.0.1'): string =>
    yamlDoc('Proxy', name, { port, bind, keys: [{ valueFrom: { env: 'K' } }] });

  it('rejects a second gateway policy for the same platform, at the later one by name', async () => {
    const findings = await findingsOf({ 'b.yaml': policy('beta', { slack }), 'a.yaml': policy('alpha', { slack }) });
    expect(findings.map(at)).toEqual(['b.yaml:7:5 platform-conflict']);
    expect(findings[0]?.message).toContain('GatewayPolicy/alpha at a.yaml:7:5');
  });

  it.each([
    ['the same address', '127.0.0.1', '127.0.0.1', true],
    ['a wildcard and a loopback address', '0.0.0.0', '127.0.0.1', true],
    ['two loopback addresses', '127.0.0.1', '127.0.0.2', false],
  ])('rejects two proxies on one port with %s: %s', async (_what, a, b, conflict) => {
    const findings = await findingsOf({ 'p.yaml': `${proxy('one', 8099, a)}---\n${proxy('two', 8099, b)}` });
    const conflicts = findings.filter((f) => f.rule === 'port-conflict').map((f) => f.message);
    expect(conflicts).toEqual(
      conflict ? [expect.stringContaining('port 8099 is already taken by Proxy/one at p.yaml:')] : [],
    );
  });
});
