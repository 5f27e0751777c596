import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { StateStore } from '../../reconciler/state/store.js';
import { CoreStore } from '../../reconciler/state/core-store.js';
import { tempDir } from '../helpers/temp.js';
import { resolveSecret } from '../../reconciler/secrets.js';
import type { Resource } from '../../reconciler/types.js';

const res = (name: string, hash: string): Resource =>
  ({
    apiVersion: 'caduceus.dev/v1',
    kind: 'Skill',
    metadata: { name },
    spec: {},
    source: { file: 'a.yaml', line: 1, column: 1 },
    hash,
  }) as unknown as Resource;

describe('state store', () => {
  it('runs namespaced migrations once and survives reopening', () => {
    const dir = tempDir();
    const s1 = new StateStore({ stateDir: dir });
    s1.migrate('demo', ['CREATE TABLE demo (x INTEGER)', 'ALTER TABLE demo ADD COLUMN y TEXT']);
    s1.db.prepare('INSERT INTO demo (x, y) VALUES (1, ?)').run('one');
    s1.close();
    const s2 = new StateStore({ stateDir: dir });
    s2.migrate('demo', ['CREATE TABLE demo (x INTEGER)', 'ALTER TABLE demo ADD COLUMN y TEXT']);
    expect(s2.db.prepare('SELECT y FROM demo').get()).toEqual({ y: 'one' });
    expect(s2.db.pragma('journal_mode', { simple: true })).toBe('wal');
    s2.close();
  });

  it('writes a reconcile step as one transaction: a failing write leaves the old state whole', () => {
    const core = new CoreStore(new StateStore({ stateDir: tempDir() }));
    core.writeStep({
      key: 'Skill/a',
      revision: 'r1',
      applied: res('a', 'h1'),
      conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'ok' }],
      events: [],
    });
    expect(() =>
      core.writeStep({
        key: 'Skill/a',
        revision: 'r2',
        applied: res('a', 'h2'),
        conditions: [{ type: 'Ready', status: 'False', reason: 'ReconciliationFailed', message: 'bad' }],
        // An event type outside the CHECK constraint makes the last statement fail.
        events: [{ type: 'Bogus' as 'Normal', reason: 'Created', message: 'x' }],
      }),
    ).toThrow();
    expect(core.appliedHashes().get('Skill/a')).toBe('h1');
    expect(core.status('Skill/a')?.conditions[0]?.reason).toBe('ReconciliationSucceeded');
    core.store.close();
  });

  it('redacts resolved secrets and URL credentials from condition and event messages before they are stored', () => {
    const core = new CoreStore(new StateStore({ stateDir: tempDir() }));
    const token = resolveSecret({ valueFrom: { env: 'T' } }, { env: { T: 'tok-4f9a2c-secret' } });
    const message = `call failed with ${token} at https://bot:pw@example.invalid/x`;
    core.writeStep({
      key: 'Skill/a',
      revision: 'r1',
      applied: res('a', 'h1'),
      conditions: [{ type: 'Ready', status: 'False', reason: 'Failed', message }],
      events: [{ type: 'Warning', reason: 'Failed', object: 'Skill/a', message }],
    });
    core.record('Skill/a', 'Warning', 'RunRejected', message);
    const stored = [core.status('Skill/a')?.conditions[0]?.message, ...core.events().map((e) => e.message)];
    expect(stored).toHaveLength(3);
    for (const m of stored) {
      expect(m).toBe('call failed with [REDACTED] at https://***@example.invalid/x');
    }
  });

  it('keeps lastTransitionTime when a condition status does not change', async () => {
    const core = new CoreStore(new StateStore({ stateDir: tempDir() }));
    core.writeStep({
      key: 'Skill/a',
      revision: 'r1',
      applied: res('a', 'h1'),
      conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'ok' }],
      events: [],
    });
    const t1 = core.status('Skill/a')?.conditions[0]?.lastTransitionTime;
    await new Promise((r) => setTimeout(r, 10));
    core.writeStep({
      key: 'Skill/a',
      revision: 'r2',
      applied: res('a', 'h2'),
      conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'again' }],
      events: [],
    });
    expect(core.status('Skill/a')?.conditions[0]?.lastTransitionTime).toBe(t1);
    core.writeStep({
      key: 'Skill/a',
      revision: 'r3',
      conditions: [{ type: 'Ready', status: 'False', reason: 'ReconciliationFailed', message: 'x' }],
      events: [],
    });
    expect(core.status('Skill/a')?.conditions[0]?.lastTransitionTime).not.toBe(t1);
    expect(core.status('Skill/a')?.lastAppliedRevision).toBe('r2');
    core.store.close();
  });

  it('keeps the history of the last 10 revisions', () => {
    const core = new CoreStore(new StateStore({ stateDir: join(tempDir(), 'nested') }));
    for (let i = 0; i < 15; i++) core.recordAttempt(`rev${i}`, i % 2 ? 'rejected' : 'accepted', {}, []);
    const revs = new Set(core.history().map((h) => h.revision));
    expect(revs.size).toBe(10);
    expect(revs.has('rev14')).toBe(true);
    expect(revs.has('rev4')).toBe(false);
    expect(core.sourceState().lastAttemptedRevision).toBe('rev14');
    core.store.close();
  });
});
