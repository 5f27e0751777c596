import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue } from '../../reconciler/work-queue.js';

/** Gives the event loop one turn: a handler that does some I/O-like waiting, without a timer. */
const turn = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

describe('work queue', () => {
  it('keeps FIFO order within a priority while keys keep coming, and priorities before it', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(
      async (key) => {
        runs.push(key);
        await turn();
        const i = Number(key.slice(2));
        // Each run queues a later key, so the bucket never empties until the end.
        if (key.startsWith('b-') && i + 2000 < 5000) q.add(`b-${i + 2000}`);
        if (i === 2500) q.add('a-urgent');
      },
      { concurrency: 1, baseDelayMs: 10, maxDelayMs: 100, priority: (k) => (k.startsWith('a-') ? 0 : 1) },
    );
    for (let i = 0; i < 2000; i++) q.add(`b-${i}`);
    await q.idle();
    const expected = Array.from({ length: 5000 }, (_, i) => `b-${i}`);
    expected.splice(2501, 0, 'a-urgent');
    expect(runs).toEqual(expected);
  });

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
        await turn();
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
    // Idle means nothing queued or running: no run of a dirty key is left to come.
    expect([q.depth, q.active]).toEqual([0, 0]);
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
        await turn();
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
    vi.useFakeTimers();
    let calls = 0;
    const q: WorkQueue = new WorkQueue(
      async (key) => {
        calls++;
        if (calls < 3) q.backoff(key);
      },
      { concurrency: 1, baseDelayMs: 40, maxDelayMs: 1000, priority: () => 0 },
    );
    q.add('k');
    expect(calls).toBe(1);
    // First retry exactly 40 ms after the failure, the second 80 ms after the next one.
    await vi.advanceTimersByTimeAsync(39);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(79);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(3);
    // The third call succeeded: running every timer left brings no fourth call.
    await vi.runAllTimersAsync();
    expect(calls).toBe(3);
    q.stop();
  });
});
