// Replicas of `caduceus up` on one PostgreSQL database, as compiled CLI processes: one
// leads (reconciles, runs schedules), the other serves the read endpoints; when the
// leader is killed with SIGKILL during a scheduled run, the follower takes over within
// 15 s, marks that run abandoned, and each later schedule slot fires exactly once.

import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { makeRepo, GIT_ENV } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { doc } from '../helpers/config.js';
import { waitFor } from '../helpers/wait.js';
import { createDatabase, postgresAvailable, type TestDatabase } from '../helpers/postgres.js';
import { CLI, upStarter } from '../helpers/up-process.js';

const pgUp = await postgresAvailable();
const up = upStarter();
const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dbs.splice(0)) await d.drop();
});

async function status(url: string): Promise<{ role: string; leader: { holder: string } | null; resources: unknown[] }> {
  const res = await fetch(`${url}/status`);
  return (await res.json()) as { role: string; leader: { holder: string } | null; resources: unknown[] };
}

interface RunRow {
  id: string;
  status: string;
  error: string | null;
  owner: string;
  started_at: string;
  trigger: string;
}

describe.runIf(pgUp || process.env.CI === 'true')('replicas on PostgreSQL', () => {
  it('takes over within 15 s of a SIGKILL, abandons the dead leader’s run, fires each slot once', async () => {
    const db = await createDatabase();
    dbs.push(db);
    const repo = makeRepo({
      'config/tick.yaml': doc('Task', 'tick', {
        subtasks: [{ name: 'work', run: 'sleep 3' }],
        schedule: { cron: '*/5 * * * * *', timezone: 'UTC', concurrencyPolicy: 'Allow' },
        retry: { maxAttempts: 1 },
      }),
    });
    const args = (dir: string) => ['--repo', repo, '--path', 'config', '--state-dir', dir, '--state', db.url];
    const a = await up(args(join(tempDir('caduceus-replica-a-'), 'state')));
    const b = await up(args(join(tempDir('caduceus-replica-b-'), 'state')));
    expect((await status(a.url)).role).toBe('leader');
    const follower = await status(b.url);
    expect(follower.role).toBe('follower');
    // The follower serves what the leader wrote.
    expect(follower.resources).toEqual([expect.objectContaining({ key: 'Task/tick' })]);
    expect((await fetch(`${b.url}/metrics`)).status).toBe(200);
    // `caduceus status` reads the same database through CADUCEUS_STATE_URL.
    const cliStatus = spawnSync(process.execPath, [CLI, 'status', '--json'], {
      env: { ...GIT_ENV, CADUCEUS_STATE_URL: db.url },
      encoding: 'utf8',
    });
    expect(JSON.parse(cliStatus.stdout).resources.map((r: { key: string }) => r.key)).toEqual(['Task/tick']);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const runs = async (): Promise<RunRow[]> =>
        (
          await client.query<RunRow>(
            `SELECT id, status, error, owner, started_at, trigger FROM runs WHERE kind = 'task' ORDER BY started_at`,
          )
        ).rows;
      const inFlight = await waitFor(async () => (await runs()).find((r) => r.status === 'running'), 30_000);
      const killedAt = Date.now();
      a.child.kill('SIGKILL');
      await a.exited;
      await waitFor(async () => (await status(b.url)).role === 'leader', 20_000, 'the follower to lead', 100);
      const failover = Date.now() - killedAt;
      expect(failover).toBeLessThan(15_000);

      const abandoned = (await runs()).find((r) => r.id === inFlight.id);
      expect(abandoned).toMatchObject({ status: 'cancelled', error: 'process exited while the run was in progress' });

      // Two slots fired by the new leader, each run once.
      await waitFor(
        async () => (await runs()).filter((r) => r.owner !== inFlight.owner && r.status === 'succeeded').length >= 2,
        30_000,
      );
      const scheduled = (await runs()).filter((r) => r.trigger === 'schedule');
      const perSlot = new Map<number, number>();
      for (const r of scheduled) {
        const slot = Math.floor(Number(r.started_at) / 5000);
        perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
      }
      expect([...perSlot.values()].every((n) => n === 1)).toBe(true);
      const claims = await client.query<{ task: string; n: string }>(
        'SELECT task, COUNT(*) AS n FROM schedule_claims GROUP BY task',
      );
      expect(Number(claims.rows[0]?.n)).toBe(scheduled.length);
    } finally {
      await client.end();
    }
  });
});
