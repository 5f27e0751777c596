import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../reconciler/work-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('work queue', () => {
  it('de-duplicates queued keys and never runs one key twice at once', async () => {
    const runs: string[] = [];
    let inFlight = 0;
    let maxInFlightA = 0;
    const q = new WorkQueue(
      async (key) => {
        if (key === 'a') {
          inFlight++;
          maxInFlightA = Math.max(maxInFlightA, inFlight);
        }
        runs.push(key);
        await sleep(20);
        if (key === 'a') inFlight--;
      },
      { concurrency: 1, baseDelayMs: 10, maxDelayMs: 100, priority: () => 0 },
    );
    q.add('a');
    q.add('a'); // processing → marked dirty, runs once more after
    q.add('a'); // still only one extra run
    q.add('b'); // queued behind a
    q.add('b'); // already queued: dropped
    await q.idle();
    await sleep(5);
    await q.idle();
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.filter((k) => k === 'b')).toHaveLength(1);
    expect(maxInFlightA).toBe(1);
    expect(runs).toEqual(['a', 'b', 'a']);
  });

  it('starts the next key when a handler releases its place, and still never runs that key twice at once', async () => {
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const q = new WorkQueue(
      (key, release) => {
        started.push(key);
        release();
        return new Promise<void>((resolve) => finish.set(key, resolve));
      },
      { concurrency: 1, baseDelayMs: 10, maxDelayMs: 100, priority: () => 0 },
    );
    q.add('a');
    q.add('b');
    const deadline = Date.now() + 5_000;
    while (started.length < 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    // Both run with one place: a gave it back while it waits.
    expect(started).toEqual(['a', 'b']);
    q.add('a'); // a is still being processed: marked dirty, not started again
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a', 'b']);
    expect(q.active).toBe(2);
    finish.get('a')?.();
    finish.get('b')?.();
    while (started.length < 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a', 'b', 'a']);
    finish.get('a')?.();
    await q.idle();
  });

  it('takes keys in priority order and respects concurrency', async () => {
    const order: string[] = [];
    const q = new WorkQueue(
      async (key) => {
        order.push(key);
        await sleep(5);
      },
      {
        concurrency: 1,
        baseDelayMs: 10,
        maxDelayMs: 100,
        priority: (k) => (k.startsWith('Runtime') ? 0 : k.startsWith('Skill') ? 1 : 2),
      },
    );
    q.add('Task/t'); // starts at once: the queue was empty
    q.add('Task/u');
    q.add('Skill/s');
    q.add('Runtime/r');
    await q.idle();
    expect(order).toEqual(['Task/t', 'Runtime/r', 'Skill/s', 'Task/u']);
  });

  it('backs off exponentially per key up to the cap and forgets on success', () => {
    const q = new WorkQueue(async () => undefined, {
      concurrency: 1,
      baseDelayMs: 500,
      maxDelayMs: 5000,
      priority: () => 0,
    });
    expect(q.backoff('k').delayMs).toBe(500);
    expect(q.backoff('k').delayMs).toBe(1000);
    expect(q.backoff('k').delayMs).toBe(2000);
    expect(q.backoff('k').delayMs).toBe(4000);
    expect(q.backoff('k').delayMs).toBe(5000);
    expect(q.backoff('other').delayMs).toBe(500);
    q.forget('k');
    expect(q.failuresOf('k')).toBe(0);
    q.stop();
  });

  it('retries a failing key after its backoff delay', async () => {
    let calls = 0;
    const times: number[] = [];
    const start = Date.now();
    const q: WorkQueue = new WorkQueue(
      async (key) => {
        calls++;
        times.push(Date.now() - start);
        if (calls < 3) q.backoff(key);
      },
      { concurrency: 1, baseDelayMs: 40, maxDelayMs: 1000, priority: () => 0 },
    );
    q.add('k');
    await sleep(400);
    expect(calls).toBe(3);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(35);
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThanOrEqual(75);
    q.stop();
  });
});
