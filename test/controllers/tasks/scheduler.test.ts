// Cron schedules on node-cron: registered once per distinct schedule, replaced when it
// changes, removed on demand, and bad expressions or time zones named clearly.

import { afterEach, describe, expect, it } from 'vitest';
import { Schedules, checkSchedule } from '../../../controllers/tasks/scheduler.js';
import { silentLogger } from '../../../reconciler/log.js';
import { eventually } from './helpers.js';

const all: Schedules[] = [];
afterEach(() => {
  while (all.length) all.pop()?.stopAll();
});

describe('task schedules', () => {
  it('fires every second, keeps the job for an unchanged schedule and replaces it on a change', async () => {
    const s = new Schedules(silentLogger);
    all.push(s);
    let fired = 0;
    expect(s.ensure('t', { cron: '*/1 * * * * *', timezone: 'UTC' }, () => fired++)).toBe(true);
    expect(s.ensure('t', { cron: '*/1 * * * * *', timezone: 'UTC' }, () => fired++)).toBe(false);
    const t0 = Date.now();
    await eventually(() => expect(fired).toBeGreaterThanOrEqual(2), 30_000);
    // Once per second at most, whatever the load.
    expect(fired).toBeLessThanOrEqual(Math.ceil((Date.now() - t0) / 1000) + 1);
    expect(s.ensure('t', { cron: '0 0 1 1 *', timezone: 'Asia/Tokyo' }, () => fired++)).toBe(true);
    const next = s.nextRun('t') as Date;
    // Midnight of 1 January in Tokyo is 15:00 UTC on 31 December.
    expect([next.getUTCMonth(), next.getUTCDate(), next.getUTCHours()]).toEqual([11, 31, 15]);
    const before = fired;
    await new Promise((r) => setTimeout(r, 1200));
    expect(fired).toBe(before);
    expect(s.remove('t')).toBe(true);
    expect(s.has('t')).toBe(false);
    expect(s.nextRun('t')).toBeNull();
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
