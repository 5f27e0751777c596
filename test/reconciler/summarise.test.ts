// summarise(): how one reconcile's outcome becomes conditions, the applied snapshot and
// transition events. Pure, so each transition is one call with a previous status.

import { describe, expect, it } from 'vitest';
import { summarise, STALL_AFTER, type Outcome, type SummaryInput } from '../../reconciler/summarise.js';
import type { Condition, ConditionUpdate, Resource, ResourceStatus } from '../../reconciler/types.js';
import { StateStore } from '../../reconciler/state/store.js';
import { CoreStore } from '../../reconciler/state/core-store.js';

const KEY = 'Skill/s';

function skill(hash: string): Resource {
  return {
    apiVersion: 'caduceus.dev/v1',
    kind: 'Skill',
    metadata: { name: 's' },
    spec: { version: '1.0.0', steps: [{ run: 'true' }] },
    source: { file: 'skills/s.yaml', line: 1, column: 1 },
    hash,
  } as Resource;
}

function status(...conditions: ConditionUpdate[]): ResourceStatus {
  const at = '2024-01-01T00:00:00.000Z';
  return {
    key: KEY,
    kind: 'Skill',
    name: 's',
    conditions: conditions.map((c): Condition => ({ ...c, lastTransitionTime: at })),
    observed: {},
    createdAt: at,
    updatedAt: at,
  };
}

function run(over: Partial<SummaryInput> & { outcome?: Outcome } = {}): ReturnType<typeof summarise> {
  return summarise({
    key: KEY,
    revision: 'r2',
    desired: skill('h1'),
    driven: true,
    outcome: { kind: 'done' },
    set: { conditions: [], events: [] },
    previous: undefined,
    appliedHash: 'h1',
    ...over,
  });
}

const ready = (s: ReturnType<typeof summarise>): ConditionUpdate | undefined =>
  s.conditions.find((c) => c.type === 'Ready');
const stalled = (s: ReturnType<typeof summarise>): ConditionUpdate | undefined =>
  s.conditions.find((c) => c.type === 'Stalled');
const reasons = (s: ReturnType<typeof summarise>): string[] => s.events.map((e) => `${e.type}/${e.reason}`);

const readyTrue: ConditionUpdate = { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' };
const notStalled: ConditionUpdate = { type: 'Stalled', status: 'False', reason: 'Progressing', message: 'not stalled' };

describe('summarise: a reconcile that returned', () => {
  it('creates: Ready by default, not reconciling, not stalled, applied, one Created event', () => {
    const s = run({ appliedHash: undefined });
    expect(s.conditions).toEqual([
      { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'applied revision r2' },
      { type: 'Reconciling', status: 'False', reason: 'Idle', message: 'reconciled' },
      notStalled,
    ]);
    expect(s.applied?.hash).toBe('h1');
    expect(s.events).toEqual([
      { type: 'Normal', reason: 'Created', message: 'Skill s created', object: KEY, revision: 'r2' },
    ]);
  });

  it('says Stored for a kind no controller drives', () => {
    expect(ready(run({ driven: false }))).toMatchObject({ status: 'True', reason: 'Stored' });
  });

  it('emits Updated when the applied hash changes and nothing when it does not', () => {
    expect(reasons(run({ desired: skill('h2'), appliedHash: 'h1', previous: status(readyTrue) }))).toEqual([
      'Normal/Updated',
    ]);
    expect(reasons(run({ previous: status(readyTrue) }))).toEqual([]);
  });

  it('keeps the controller Ready and its events, with the object and revision attached', () => {
    const s = run({
      previous: status(readyTrue),
      set: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'Listening', message: 'serving :8080' }],
        events: [{ type: 'Normal', reason: 'ListenerMoved', message: 'now :8080' }],
      },
    });
    expect(ready(s)).toEqual({ type: 'Ready', status: 'True', reason: 'Listening', message: 'serving :8080' });
    expect(s.events).toEqual([
      { type: 'Normal', reason: 'ListenerMoved', message: 'now :8080', object: KEY, revision: 'r2' },
    ]);
  });

  it('warns when Ready is False the first time and when its reason changes, not while it stays', () => {
    const unset: ConditionUpdate = { type: 'Ready', status: 'False', reason: 'SecretUnset', message: 'KEY unset' };
    const first = run({ set: { conditions: [unset], events: [] } });
    expect(first.events).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'SecretUnset', message: 'KEY unset' }),
    );
    expect(reasons(run({ previous: status(unset), set: { conditions: [unset], events: [] } }))).toEqual([]);
    const busy: ConditionUpdate = { type: 'Ready', status: 'False', reason: 'PortInUse', message: ':80 in use' };
    expect(reasons(run({ previous: status(unset), set: { conditions: [busy], events: [] } }))).toEqual([
      'Warning/PortInUse',
    ]);
    expect(reasons(run({ previous: status(readyTrue), set: { conditions: [busy], events: [] } }))).toEqual([
      'Warning/PortInUse',
    ]);
  });

  it('emits a Normal event with the Ready reason when it becomes True again, and none while it stays True', () => {
    const was: ConditionUpdate = { type: 'Ready', status: 'False', reason: 'ImageNotFound', message: 'no image' };
    expect(run({ previous: status(was), set: { conditions: [readyTrue], events: [] } }).events).toEqual([
      { type: 'Normal', reason: 'Ready', message: 'ok', object: KEY, revision: 'r2' },
    ]);
    expect(reasons(run({ previous: status(readyTrue), set: { conditions: [readyTrue], events: [] } }))).toEqual([]);
  });

  it('clears a stall when the resource reconciles again', () => {
    const wasStalled: ConditionUpdate = { type: 'Stalled', status: 'True', reason: 'InvalidSchedule', message: 'x' };
    const s = run({ previous: status(wasStalled), desired: skill('h2') });
    expect(stalled(s)).toEqual(notStalled);
    expect(reasons(s)).toEqual(['Normal/Updated']);
  });
});

describe('summarise: a terminal result', () => {
  const terminal: Outcome = {
    kind: 'terminal',
    terminal: { reason: 'InvalidSchedule', message: '"x" is not a cron expression' },
  };

  it('is Ready=False and Stalled=True with its reason, not reconciling, applied, with one Warning', () => {
    const s = run({ outcome: terminal, previous: status(readyTrue, notStalled), desired: skill('h2') });
    expect(s.conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'InvalidSchedule', message: '"x" is not a cron expression' },
      {
        type: 'Reconciling',
        status: 'False',
        reason: 'InvalidSchedule',
        message: 'not retried until the spec changes',
      },
      { type: 'Stalled', status: 'True', reason: 'InvalidSchedule', message: '"x" is not a cron expression' },
    ]);
    expect(s.applied?.hash).toBe('h2');
    expect(reasons(s)).toEqual(['Normal/Updated', 'Warning/InvalidSchedule']);
  });

  it('emits nothing when the same stall is recorded again (a restart) and again when its message changes', () => {
    const same = status(...run({ outcome: terminal }).conditions);
    expect(reasons(run({ outcome: terminal, previous: same }))).toEqual([]);
    const other: Outcome = { kind: 'terminal', terminal: { reason: 'InvalidSchedule', message: '"y" is not one' } };
    expect(reasons(run({ outcome: other, previous: same }))).toEqual(['Warning/InvalidSchedule']);
  });

  it('overrides a Ready the controller set before returning it', () => {
    const s = run({ outcome: terminal, set: { conditions: [readyTrue], events: [] } });
    expect(ready(s)).toMatchObject({ status: 'False', reason: 'InvalidSchedule' });
  });
});

describe('summarise: a reconcile that threw', () => {
  const failed = (failures: number, message = 'boom'): Outcome => ({
    kind: 'failed',
    message,
    failures,
    retryInMs: 500,
  });

  it('is Ready=False ReconciliationFailed and Reconciling=True, not applied, with one ReconcileFailed', () => {
    const s = run({ outcome: failed(1), desired: skill('h2'), previous: status(readyTrue) });
    expect(s.conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'ReconciliationFailed', message: 'boom' },
      {
        type: 'Reconciling',
        status: 'True',
        reason: 'RetryingWithBackoff',
        message: 'attempt 1 failed; retrying in 500 ms',
      },
      { type: 'Stalled', status: 'False', reason: 'Progressing', message: 'retrying' },
    ]);
    expect(s.applied).toBeUndefined();
    expect(reasons(s)).toEqual(['Warning/ReconcileFailed']);
  });

  it('does not repeat ReconcileFailed for the same error, compared after redaction', () => {
    const message = 'fetch https://user:hunter2@example.com/x failed';
    const first = run({ outcome: failed(1, message) });
    // Written and read back through the real store, which redacts credentials in messages.
    const store = new StateStore({ stateDir: ':memory:' });
    const core = new CoreStore(store);
    core.writeStep({ key: KEY, revision: 'r2', ...first });
    const stored = core.status(KEY);
    store.close();
    expect(stored?.conditions[0]?.message).toBe('fetch https://***@example.com/x failed');
    expect(reasons(run({ outcome: failed(2, message), previous: stored }))).toEqual([]);
    expect(reasons(run({ outcome: failed(3, 'other'), previous: stored }))).toEqual(['Warning/ReconcileFailed']);
  });

  it(`is Stalled=True RepeatedFailures from the ${STALL_AFTER}th failure, with one Warning`, () => {
    const before = run({ outcome: failed(STALL_AFTER - 1) });
    expect(stalled(before)).toMatchObject({ status: 'False' });
    const at = run({ outcome: failed(STALL_AFTER), previous: status(...before.conditions) });
    expect(stalled(at)).toMatchObject({ status: 'True', reason: 'RepeatedFailures' });
    expect(reasons(at)).toEqual(['Warning/RepeatedFailures']);
    const after = run({ outcome: failed(STALL_AFTER + 1), previous: status(...at.conditions) });
    expect(reasons(after)).toEqual([]);
  });
});

describe('summarise: a pruned resource', () => {
  it('removes it with a Pruned event after the controller events', () => {
    const s = run({
      desired: undefined,
      set: { conditions: [], events: [{ type: 'Warning', reason: 'ListenerStopped', message: 'stopped' }] },
    });
    expect(s).toEqual({
      conditions: [],
      pruned: true,
      events: [
        { type: 'Warning', reason: 'ListenerStopped', message: 'stopped', object: KEY, revision: 'r2' },
        {
          type: 'Normal',
          reason: 'Pruned',
          message: 'Skill s removed from git and pruned',
          object: KEY,
          revision: 'r2',
        },
      ],
    });
  });

  it('keeps it, not Ready, when the prune failed', () => {
    const s = run({ desired: undefined, outcome: { kind: 'failed', message: 'busy', failures: 1, retryInMs: 500 } });
    expect(s.pruned).toBeUndefined();
    expect(ready(s)).toMatchObject({ status: 'False', reason: 'ReconciliationFailed' });
  });
});
