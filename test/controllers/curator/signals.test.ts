// The curator's signals from a real run history (SQLite in memory): runs and failures per
// window counted under the canonical name of an alias, the last use ever, git age with
// its fallback, the pinned label's value, and who references a skill (never itself).

import { describe, expect, it } from 'vitest';
import { collectSignals, isPinned, PINNED_LABEL } from '../../../controllers/curator/signals.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import { StateStore } from '../../../reconciler/state/store.js';
import type { Resource } from '../../../reconciler/types.js';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

function r(kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Resource {
  return {
    apiVersion: 'caduceus.dev/v1',
    kind,
    metadata: { name, ...(labels ? { labels } : {}) },
    spec,
    source: { file: `${kind.toLowerCase()}s/${name}.yaml`, line: 1, column: 1 },
    hash: `h-${name}`,
  } as unknown as Resource;
}

const skill = (name: string, extra: Record<string, unknown> = {}, labels?: Record<string, string>) =>
  r('Skill', name, { version: '1.2.0', steps: [{ run: 'true' }], ...extra }, labels);

function history(rows: Array<[name: string, at: number, status: 'succeeded' | 'failed' | 'timedOut']>): RunStore {
  const runs = new RunStore(new StateStore({ stateDir: ':memory:' }));
  for (const [name, at, status] of rows) {
    const id = runs.start({ kind: 'skill', name, trigger: 'manual', startedAt: at });
    runs.finish(id, { status, durationMs: 1 });
  }
  runs.start({ kind: 'task', name: 'deploy', trigger: 'manual', startedAt: NOW - HOUR });
  return runs;
}

/** collectSignals with no file history (every skill first seen at 0) over the given window. */
function signals(
  resources: Resource[],
  runs: RunStore = history([]),
  windowMs = HOUR,
): ReturnType<typeof collectSignals> {
  return collectSignals({ resources, runs, now: NOW, windowMs, firstSeen: new Map(), fallbackFirstSeen: () => 0 });
}

describe('collectSignals', () => {
  it('counts runs and failures in the window under the canonical name, and all runs seen', () => {
    const resources = [skill('deploy', { aliases: ['ship', 'lint'] }), skill('lint')];
    const runs = history([
      ['deploy', NOW - HOUR, 'succeeded'],
      ['ship', NOW - 2 * HOUR, 'failed'],
      ['ship', NOW - 3 * HOUR, 'timedOut'],
      ['lint', NOW - HOUR, 'failed'],
      ['deploy', NOW - 30 * HOUR, 'failed'],
      ['removed-skill', NOW - HOUR, 'succeeded'],
    ]);
    const s = collectSignals({
      resources,
      runs,
      now: NOW,
      windowMs: 24 * HOUR,
      firstSeen: new Map(),
      fallbackFirstSeen: () => 5,
    });
    const deploy = s.byName.get('deploy');
    expect(deploy && [deploy.runs, deploy.failures, deploy.failureRate]).toEqual([3, 2, 2 / 3]);
    // `lint` is a skill's own name and another's alias: the canonical name wins.
    expect(s.byName.get('lint')?.runs).toBe(1);
    expect(s.byName.get('lint')?.failureRate).toBe(1);
    expect(s.runsInWindow).toBe(5);
    expect([...s.resolve]).toEqual([
      ['deploy', 'deploy'],
      ['lint', 'lint'],
      ['ship', 'deploy'],
    ]);
  });

  it('counts a run exactly at the window start and not one just before', () => {
    const runs = history([
      ['a', NOW - 10 * HOUR, 'succeeded'],
      ['a', NOW - 10 * HOUR - 1, 'succeeded'],
    ]);
    const s = signals([skill('a')], runs, 10 * HOUR);
    expect(s.byName.get('a')?.runs).toBe(1);
    expect(s.runsInWindow).toBe(1);
  });

  it('reads the last use ever, through aliases, the latest winning', () => {
    const resources = [skill('deploy', { aliases: ['ship'] }), skill('idle')];
    const runs = history([
      ['ship', NOW - 100 * HOUR, 'succeeded'],
      ['deploy', NOW - 200 * HOUR, 'succeeded'],
      ['ship', NOW - 300 * HOUR, 'failed'],
    ]);
    const s = signals(resources, runs);
    expect(s.byName.get('deploy')).toMatchObject({ runs: 0, failures: 0, failureRate: 0, lastUsed: NOW - 100 * HOUR });
    expect(s.byName.get('idle')?.lastUsed).toBeNull();
    const reversed = history([
      ['deploy', NOW - 100 * HOUR, 'succeeded'],
      ['ship', NOW - 200 * HOUR, 'succeeded'],
    ]);
    const t = signals(resources, reversed);
    expect(t.byName.get('deploy')?.lastUsed).toBe(NOW - 100 * HOUR);
  });

  it('takes the first commit time from git, else the fallback, and copies the skill facts', () => {
    const resources = [skill('a'), skill('b')];
    const s = collectSignals({
      resources,
      runs: history([]),
      now: NOW,
      windowMs: HOUR,
      firstSeen: new Map([['skills/a.yaml', 42]]),
      fallbackFirstSeen: (file) => (file === 'skills/b.yaml' ? 7 : -1),
    });
    expect(s.skills).toEqual([
      {
        name: 'a',
        file: 'skills/a.yaml',
        hash: 'h-a',
        version: '1.2.0',
        pinned: false,
        runs: 0,
        failures: 0,
        failureRate: 0,
        lastUsed: null,
        firstSeen: 42,
        referencedBy: [],
      },
      {
        name: 'b',
        file: 'skills/b.yaml',
        hash: 'h-b',
        version: '1.2.0',
        pinned: false,
        runs: 0,
        failures: 0,
        failureRate: 0,
        lastUsed: null,
        firstSeen: 7,
        referencedBy: [],
      },
    ]);
  });

  it('lists every resource naming a skill or its alias, sorted, without the skill itself', () => {
    const resources = [
      skill('deploy', { aliases: ['ship'], steps: [{ skill: { name: 'deploy' } }, { skill: { name: 'lint' } }] }),
      skill('lint', { steps: [{ run: 'x' }, { skill: { name: 'ship' } }] }),
      r('Task', 'release', { subtasks: [{ skill: 'ship' }, { skill: 'nope' }, { run: 'x' }] }),
      r('Proxy', 'team', { preload: ['deploy', 'unknown'] }),
      r('GatewayPolicy', 'gw', { roles: [{ name: 'ops', permissions: { skills: ['ship'] } }, { name: 'x' }] }),
      r('Runtime', 'rt', { preload: ['deploy'] }),
      r('Task', 'bare', {}),
    ];
    const s = signals(resources);
    expect(s.byName.get('deploy')?.referencedBy).toEqual([
      'GatewayPolicy/gw',
      'Proxy/team',
      'Skill/lint',
      'Task/release',
    ]);
    expect(s.byName.get('lint')?.referencedBy).toEqual(['Skill/deploy']);
    expect(s.skills.map((x) => x.name)).toEqual(['deploy', 'lint']);
  });
});

describe('collectSignals on resources without the fields that name skills', () => {
  it('reads skill names only from the field of each kind, and takes missing lists as empty', () => {
    const resources = [
      skill('deploy'),
      // Instructions-only skill: no steps.
      r('Skill', 'guide', { version: '1.0.0', instructions: 'read the docs' }),
      r('Task', 'plain', {}),
      r('Proxy', 'bare', {}),
      r('GatewayPolicy', 'open', {}),
      r('GatewayPolicy', 'viewers', { roles: [{ name: 'viewer' }, { name: 'ops', permissions: {} }] }),
      // Fields of the same names on kinds that do not name skills there.
      r('Runtime', 'rt', {
        roles: [{ name: 'ops', permissions: { skills: ['deploy'] } }],
        subtasks: [{ skill: 'deploy' }],
      }),
      r('Curator', 'cur', { preload: ['deploy'], steps: [{ skill: { name: 'deploy' } }] }),
    ];
    const s = signals(resources);
    expect(s.skills.map((x) => [x.name, x.referencedBy])).toEqual([
      ['deploy', []],
      ['guide', []],
    ]);
    expect(s.byName.get('guide')?.version).toBe('1.0.0');
  });
});

describe('isPinned', () => {
  it('is true only for the pinned label set to "true"', () => {
    expect(PINNED_LABEL).toBe('caduceus.dev/pinned');
    expect(isPinned(skill('a', {}, { [PINNED_LABEL]: 'true' }))).toBe(true);
    expect(isPinned(skill('a', {}, { [PINNED_LABEL]: 'false' }))).toBe(false);
    expect(isPinned(skill('a', {}, { [PINNED_LABEL]: 'yes' }))).toBe(false);
    expect(isPinned(skill('a', {}, { other: 'true' }))).toBe(false);
    expect(isPinned(skill('a'))).toBe(false);
    const s = signals([skill('a', {}, { [PINNED_LABEL]: 'true' })]);
    expect(s.skills[0]?.pinned).toBe(true);
  });
});
