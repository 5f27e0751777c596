// Cron schedules on node-cron: registered once per distinct schedule, replaced when it
// changes, removed on demand, and bad expressions or time zones named clearly. Firings are
// counted under vitest's fake timers, so the counts are exact.

import { afterEach, describe, expect, it, vi } from 'vitest';
import cron from 'node-cron';
import { Schedules, checkSchedule } from '../../../controllers/tasks/scheduler.js';
import { silentLogger } from '../../../reconciler/log.js';

const all: Schedules[] = [];
afterEach(() => {
  while (all.length) all.pop()?.stopAll();
  vi.useRealTimers();
});

/** The node-cron jobs alive in this process for task `name` (node-cron keeps every undestroyed job). */
const liveJobs = (name: string) => [...cron.getTasks().values()].filter((t) => t.name === `task:${name}`);

describe('task schedules', () => {
  // node-cron runs on setTimeout and Date, so fake timers make every firing exact: no wall
  // clock, no "nothing more happened" sleep.
  it('fires every second, keeps the job for an unchanged schedule and replaces it on a change', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-06-01T00:00:00.400Z') });
    const s = new Schedules(silentLogger);
    all.push(s);
    const slots: number[] = [];
    expect(s.ensure('t', { cron: '*/1 * * * * *', timezone: 'UTC' }, (slot) => slots.push(slot))).toBe(true);
    expect(s.ensure('t', { cron: '*/1 * * * * *', timezone: 'UTC' }, (slot) => slots.push(slot))).toBe(false);
    expect(liveJobs('t')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5000);
    // Once per second, each with the second it was due as its slot.
    const second = Date.parse('2026-06-01T00:00:01Z');
    expect(slots).toEqual([0, 1, 2, 3, 4].map((i) => second + i * 1000));

    let yearly = 0;
    expect(s.ensure('t', { cron: '0 0 1 1 *', timezone: 'Asia/Tokyo' }, () => yearly++)).toBe(true);
    const next = s.nextRun('t') as Date;
    // Midnight of 1 January in Tokyo is 15:00 UTC on 31 December.
    expect(next.toISOString()).toBe('2026-12-31T15:00:00.000Z');
    // The every-second job is gone, not merely shadowed: a minute more fires nothing.
    expect(liveJobs('t')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(slots).toHaveLength(5);
    expect(yearly).toBe(0);

    expect(s.remove('t')).toBe(true);
    expect(s.has('t')).toBe(false);
    expect(s.nextRun('t')).toBeNull();
    expect(liveJobs('t')).toEqual([]);
    expect(s.remove('t')).toBe(false);
  });

  it('a removed every-second job fires no more, and stopAll ends every job', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-06-01T00:00:00.400Z') });
    const s = new Schedules(silentLogger);
    all.push(s);
    const fired = { a: 0, b: 0 };
    s.ensure('a', { cron: '*/1 * * * * *', timezone: 'UTC' }, () => fired.a++);
    s.ensure('b', { cron: '*/1 * * * * *', timezone: 'UTC' }, () => fired.b++);
    await vi.advanceTimersByTimeAsync(2000);
    expect(fired).toEqual({ a: 2, b: 2 });
    s.remove('a');
    await vi.advanceTimersByTimeAsync(3000);
    expect(fired).toEqual({ a: 2, b: 5 });
    s.stopAll();
    expect([...liveJobs('a'), ...liveJobs('b')]).toEqual([]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(fired).toEqual({ a: 2, b: 5 });
  });

  it('rejects a bad cron expression or time zone with InvalidSchedule and what to write', () => {
    expect(() => checkSchedule({ cron: 'every day', timezone: 'UTC' })).toThrow(
      expect.objectContaining({ code: 'InvalidSchedule', field: 'spec.schedule.cron' }),
    );
    expect(() => checkSchedule({ cron: '0 3 * * *', timezone: 'Mars/Olympus' })).toThrow(
      expect.objectContaining({ code: 'InvalidSchedule', field: 'spec.schedule.timezone' }),
    );
    expect(() => checkSchedule({ cron: '0 3 * * *', timezone: 'Europe/Paris' })).not.toThrow();
  });
});
