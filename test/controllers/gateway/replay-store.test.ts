// The replay store on a real SQLite file: a key passes once until it expires, two
// connections to the same state directory cannot both claim a key (the check and the
// insert are one statement), and sweeping deletes only expired keys.

import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { StateStore } from '../../../reconciler/state/store.js';
import { ReplayStore } from '../../../controllers/gateway/replay.js';
import { tempDir } from '../../helpers/temp.js';

const opened: StateStore[] = [];
const open = (stateDir: string): StateStore => {
  const s = new StateStore({ stateDir });
  opened.push(s);
  return s;
};
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

const rows = (s: StateStore): number =>
  (s.db.prepare('SELECT COUNT(*) AS n FROM gateway_replay').get() as { n: number }).n;

describe('gateway replay store', () => {
  it('lets a key through once, refuses it until it expires, then lets it through again', () => {
    const store = open(tempDir('caduceus-gw-replay-'));
    const replays = new ReplayStore(store, 1_000);
    expect(replays.checkAndRemember('slack:v0=aa', 60_000, 1_000)).toBe(false);
    expect(replays.checkAndRemember('slack:v0=aa', 60_000, 60_999)).toBe(true);
    expect(replays.checkAndRemember('slack:v0=bb', 60_000, 2_000)).toBe(false);
    // Expired at 61 000: the same key is new again, and is then remembered anew.
    expect(replays.checkAndRemember('slack:v0=aa', 60_000, 61_000)).toBe(false);
    expect(replays.checkAndRemember('slack:v0=aa', 60_000, 61_001)).toBe(true);
  });

  it('remembers keys across connections to the same state directory', () => {
    const dir = tempDir('caduceus-gw-replay-');
    const first = new ReplayStore(open(dir));
    expect(first.checkAndRemember('webhook:sha256=cc', 60_000)).toBe(false);
    opened[0]?.close();
    const second = new ReplayStore(open(dir));
    expect(second.checkAndRemember('webhook:sha256=cc', 60_000)).toBe(true);
  });

  it('sweeps expired keys, at start and every 256 remembered keys, and keeps live ones', () => {
    const dir = tempDir('caduceus-gw-replay-');
    const store = open(dir);
    const replays = new ReplayStore(store, 0);
    for (let i = 0; i < 100; i++) replays.checkAndRemember(`old:${i}`, 10, 0);
    replays.checkAndRemember('live', 1_000_000, 0);
    expect(rows(store)).toBe(101);
    expect(replays.sweep(500)).toBe(100);
    expect(rows(store)).toBe(1);

    for (let i = 0; i < 200; i++) replays.checkAndRemember(`old2:${i}`, 10, 600);
    // A new store on the same directory sweeps what expired while nothing was running.
    new ReplayStore(open(dir), 700);
    expect(rows(store)).toBe(1);

    // The 256th key remembered since the last sweep (here: since start) triggers one.
    const counted = new ReplayStore(store, 700);
    for (let i = 0; i < 255; i++) counted.checkAndRemember(`old3:${i}`, 10, 800);
    expect(rows(store)).toBe(256);
    counted.checkAndRemember('trigger', 1_000_000, 900);
    expect(rows(store)).toBe(2);
    expect(counted.checkAndRemember('live', 1_000_000, 900)).toBe(true);
  });

  it('lets exactly one of two threads claiming the same keys at the same time through', async () => {
    const dir = tempDir('caduceus-gw-replay-');
    new ReplayStore(open(dir)); // migrate before the race
    const moduleUrl = new URL('../../../dist/controllers/gateway/replay.js', import.meta.url).href;
    const storeUrl = new URL('../../../dist/reconciler/state/store.js', import.meta.url).href;
    const keys = 2_000;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { ReplayStore } = await import(workerData.moduleUrl);
        const { StateStore } = await import(workerData.storeUrl);
        const store = new StateStore({ stateDir: workerData.dir });
        const replays = new ReplayStore(store);
        const won = [];
        for (let i = 0; i < workerData.keys; i++) if (!replays.checkAndRemember('k:' + i, 600000)) won.push(i);
        store.close();
        parentPort.postMessage(won);
      })().catch((e) => { throw e; });`;
    const run = (): Promise<number[]> =>
      new Promise((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { dir, keys, moduleUrl, storeUrl } });
        w.once('message', (m: number[]) => resolve(m));
        w.once('error', reject);
      });
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.length + b.length).toBe(keys);
    expect(new Set([...a, ...b]).size).toBe(keys);
    expect(rows(open(dir))).toBe(keys);
  });
});
