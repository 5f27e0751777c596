// The end-of-run check's Docker and PostgreSQL parts on the real engine and server: it names
// what the run made and left (with the pattern it matched), not what existed before the run
// nor what a process of another run made, and removes what it names.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { newDocker } from '../../controllers/execution/dockerode-lib.js';
import { dockerUnavailable } from '../controllers/tasks/helpers.js';
import { createDatabase, postgresAvailable } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';
import { DockerWatch } from './docker-leftovers.js';
import { databasePrefix, leftoverDatabases } from './postgres-leftovers.js';
import { guard } from './temp-guard.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** A live process whose environment holds TMPDIR=dir, standing for a test process of that run. */
function processOfRun(dir: string): number {
  const child = spawn('sleep', ['600'], { stdio: 'ignore', env: { ...process.env, TMPDIR: dir } });
  children.push(child);
  return child.pid as number;
}

describe.skipIf(dockerUnavailable())('Docker leftovers', () => {
  it('names the containers and networks the run made and left, not older ones nor another run’s', async () => {
    const docker = newDocker();
    const tag = randomBytes(4).toString('hex');
    const [runDir, otherRun] = [tempDir(), tempDir()];
    const ours = `${hostname()}:${processOfRun(runDir)}`;
    const theirs = `${hostname()}:${processOfRun(otherRun)}`;
    const container = (name: string, labels: Record<string, string> = {}) =>
      docker.createContainer({ Image: 'caduceus-sandbox:latest', name, Cmd: ['true'], Labels: labels });
    const made: Array<{ remove(o?: object): Promise<unknown> }> = [];
    try {
      made.push(await container(`caduceus-guard-before-${tag}`));
      const watch = await DockerWatch.start(runDir, docker);
      if (!watch) throw new Error('the engine did not answer');
      try {
        made.push(await container(`caduceus-guard-ours-${tag}`, { 'caduceus.owner': ours }));
        made.push(await container(`caduceus-guard-theirs-${tag}`, { 'caduceus.owner': theirs }));
        made.push(await container(`guard-labelled-${tag}`, { 'caduceus.instance': `guard-${tag}` }));
        made.push(await container(`guard-plain-${tag}`));
        made.push(
          await docker.createNetwork({
            Name: `guard-net-${tag}`,
            Labels: { 'caduceus.owner': ours, 'caduceus.x': '1' },
          }),
        );
        const left = (await watch.leftovers(0)).filter((o) => o.name.includes(tag));
        expect(left.map((o) => `${o.kind} ${o.name} (${o.pattern})`).sort()).toEqual([
          `container caduceus-guard-ours-${tag} (name caduceus-*, label caduceus.managed)`,
          `container guard-labelled-${tag} (label caduceus.instance)`,
          // The sandbox image's own label (caduceus.managed) makes every container of it Caduceus's.
          `container guard-plain-${tag} (label caduceus.managed)`,
          `network guard-net-${tag} (label caduceus.owner)`,
        ]);
        await watch.remove(left);
        expect((await watch.leftovers(0)).filter((o) => o.name.includes(tag))).toEqual([]);
        const names = (await docker.listContainers({ all: true })).flatMap((c) => c.Names ?? []);
        expect(names.filter((n) => n.includes(tag)).sort()).toEqual([
          `/caduceus-guard-before-${tag}`,
          `/caduceus-guard-theirs-${tag}`,
        ]);
      } finally {
        watch.close();
      }
    } finally {
      await Promise.allSettled(made.map((o) => o.remove({ force: true })));
    }
  });
});

const pgUp = await postgresAvailable();

describe.skipIf(!pgUp)('PostgreSQL leftovers', () => {
  it('names the databases of this run left on the server, by the run token in their names', async () => {
    const run = process.env.CADUCEUS_TEST_RUN as string;
    expect(run).toMatch(/^[0-9a-f]{8}$/);
    const db = await createDatabase();
    expect(db.name).toMatch(new RegExp(`^${databasePrefix(run)}${process.pid}_[0-9a-f]{8}$`));
    expect(await leftoverDatabases(run)).toContain(db.name);
    expect(await leftoverDatabases('00000000')).toEqual([]);
    await db.drop();
    expect(await leftoverDatabases(run)).not.toContain(db.name);
  });

  it('fails the run for a database a test made and did not drop, and drops it', async () => {
    const outer = process.env.CADUCEUS_TEST_RUN;
    const teardown = await guard({ postgres: true });
    const run = process.env.CADUCEUS_TEST_RUN as string;
    expect(run).not.toBe(outer);
    const db = await createDatabase();
    expect(await leftoverDatabases(run)).toEqual([db.name]);
    await expect(teardown()).rejects.toThrow(
      `tests left 1 PostgreSQL database (drop what createDatabase() from test/helpers/postgres.ts makes): ${db.name}`,
    );
    expect(process.env.CADUCEUS_TEST_RUN).toBe(outer);
    expect(await leftoverDatabases(run)).toEqual([]);
  });
});
