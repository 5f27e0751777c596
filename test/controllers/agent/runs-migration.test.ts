// The run history takes agent runs: a state directory written before the agent keeps its
// skill and task runs through the migration that widens the runs table.

import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { StateStore } from '../../../reconciler/state/store.js';
import { RUNS_MIGRATIONS, RunStore } from '../../../reconciler/state/runs.js';
import { tempDir } from '../../helpers/temp.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('runs table migration', () => {
  it('keeps the runs of an older state directory and then records agent runs', () => {
    const stateDir = tempDir('caduceus-runs-migration-');
    dirs.push(stateDir);
    const old = new StateStore({ stateDir });
    old.migrate('runs', RUNS_MIGRATIONS.slice(0, 2));
    old.db
      .prepare(
        `INSERT INTO runs (id, kind, name, version, trigger, started_at, status, duration_ms, report)
         VALUES ('r1', 'skill', 'greet', '1.0.0', 'cli', 1000, 'succeeded', 12, '{"output":"hi"}')`,
      )
      .run();
    expect(() =>
      old.db
        .prepare(
          `INSERT INTO runs (id, kind, name, trigger, started_at, status)
           VALUES ('x', 'agent', 'a', 'cli', 1, 'running')`,
        )
        .run(),
    ).toThrow(/CHECK constraint failed/);
    old.close();

    const store = new StateStore({ stateDir });
    const runs = new RunStore(store);
    expect(runs.get('r1')).toMatchObject({
      kind: 'skill',
      name: 'greet',
      version: '1.0.0',
      durationMs: 12,
      report: { output: 'hi' },
    });
    const id = runs.start({ kind: 'agent', name: 'ask', trigger: 'cli', parentId: 'r1' });
    runs.finish(id, { status: 'succeeded', durationMs: 5 });
    expect(runs.list({ parentId: 'r1' }).map((r) => [r.kind, r.name, r.status])).toEqual([
      ['agent', 'ask', 'succeeded'],
    ]);
    expect(runs.find(id.slice(0, 8)).map((r) => r.id)).toEqual([id]);
    store.close();
  });
});
