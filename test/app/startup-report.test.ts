// The start-up report's wait: statuses (every row, conditions parsed) are read only once the
// reconciler has settled, not on every poll while the first revision applies, and the
// report still waits for every resource to have a Ready condition.

import { describe, expect, it } from 'vitest';
import { waitForFirstStatus } from '../../app/startup-report.js';
import { CoreStore } from '../../reconciler/state/core-store.js';
import { StateStore } from '../../reconciler/state/store.js';
import type { Resource, Snapshot } from '../../reconciler/types.js';
import { tempDir } from '../helpers/temp.js';

describe('waitForFirstStatus', () => {
  it('reads the statuses only once the reconciler has settled, then until every resource is Ready', async () => {
    const store = new StateStore({ stateDir: tempDir() });
    const core = new CoreStore(store);
    const keys = ['Skill/a', 'Skill/b'];
    const snapshot: Snapshot = {
      revision: 'r1',
      resources: new Map(keys.map((k) => [k, {} as Resource])),
    };
    const ready = (key: string): void =>
      core.writeStep({
        key,
        revision: 'r1',
        conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'ok' }],
        events: [],
      });
    let reads = 0;
    const allStatus = core.allStatus.bind(core);
    core.allStatus = () => {
      reads++;
      return allStatus();
    };
    // Unsettled for three polls, during which a (cheap) check is all that runs; then
    // settled, with one resource still to report.
    let polls = 0;
    ready('Skill/a');
    const settled = (): boolean => {
      polls++;
      if (polls === 3) ready('Skill/b');
      return polls > 3;
    };
    const statuses = await waitForFirstStatus(core, () => snapshot, undefined, 60_000, settled);
    expect(statuses.map((s) => s.key)).toEqual(keys);
    expect(reads).toBe(1);
    expect(polls).toBe(4);
    store.close();
  });

  it('reads them when the deadline passes even if the reconciler never settles', async () => {
    const store = new StateStore({ stateDir: tempDir() });
    const core = new CoreStore(store);
    const snapshot: Snapshot = { revision: 'r1', resources: new Map([['Skill/a', {} as Resource]]) };
    const statuses = await waitForFirstStatus(
      core,
      () => snapshot,
      undefined,
      0,
      () => false,
    );
    expect(statuses).toEqual([]);
    store.close();
  });
});
