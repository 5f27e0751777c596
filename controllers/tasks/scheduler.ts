// Cron schedules of tasks on node-cron, one job per task. Reconcile compares the desired
// schedule with the registered one and (re)registers only on a change, so applying the
// same revision twice leaves the running job alone.

import cron, { type ScheduledTask } from 'node-cron';
import { CaduceusError } from '../../reconciler/errors.js';
import type { Logger } from '../../reconciler/types.js';

export interface ScheduleSpec {
  cron: string;
  timezone: string;
}

interface Job {
  spec: ScheduleSpec;
  job: ScheduledTask;
}

export class Schedules {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly log: Logger) {}

  /** Registers (or replaces) the job of `name` when its schedule differs; true when it did. */
  ensure(name: string, spec: ScheduleSpec, fire: (slot: number) => void): boolean {
    const cur = this.jobs.get(name);
    if (cur && cur.spec.cron === spec.cron && cur.spec.timezone === spec.timezone) return false;
    checkSchedule(spec);
    this.remove(name);
    // The slot is the second the firing was due: the same for every replica that sees it.
    const job = cron.createTask(spec.cron, (ctx) => fire(Math.floor(ctx.date.getTime() / 1000) * 1000), {
      name: `task:${name}`,
      timezone: spec.timezone,
      // Overlap is decided by the task's concurrencyPolicy, not by node-cron: fire() returns at once.
      noOverlap: false,
      logger: {
        info: (m) => this.log.debug(m, { task: name }),
        warn: (m) => this.log.debug(m, { task: name }),
        error: (m) => this.log.warn(String(m), { task: name }),
        debug: () => undefined,
      },
    });
    void job.start();
    this.jobs.set(name, { spec: { ...spec }, job });
    return true;
  }

  has(name: string): boolean {
    return this.jobs.has(name);
  }

  nextRun(name: string): Date | null {
    return this.jobs.get(name)?.job.getNextRun() ?? null;
  }

  /** Stops and forgets the job of `name`; true when there was one. */
  remove(name: string): boolean {
    const cur = this.jobs.get(name);
    if (!cur) return false;
    void cur.job.destroy();
    this.jobs.delete(name);
    return true;
  }

  stopAll(): void {
    for (const name of [...this.jobs.keys()]) this.remove(name);
  }
}

/** Throws InvalidSchedule with what to write instead. */
export function checkSchedule(spec: ScheduleSpec): void {
  if (!cron.validate(spec.cron)) {
    throw new CaduceusError('InvalidSchedule', `"${spec.cron}" is not a valid cron expression`, {
      field: 'spec.schedule.cron',
      hint: 'write five fields (minute hour day month weekday) or six with seconds first, e.g. "0 3 * * *"',
    });
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: spec.timezone });
  } catch {
    throw new CaduceusError('InvalidSchedule', `"${spec.timezone}" is not a known time zone`, {
      field: 'spec.schedule.timezone',
      hint: 'use an IANA name such as UTC or Europe/Paris',
    });
  }
}
