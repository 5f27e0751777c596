// When each Curator runs: node-cron for `schedule.cron` (in its timezone), otherwise a
// timer every `schedule.every` (node-cron cannot say "every 7 days"), both unref'd. The
// anchor (first seen, last scheduled run) lives in the state store, so a restart keeps
// the cycle, and the first run after a Curator appears waits one full cycle.

import cron, { type ScheduledTask } from 'node-cron';
import { cronProblem, timeZoneProblem } from '../../reconciler/schedule-check.js';
import type { CuratorSpec } from '../../reconciler/specs.js';
import type { Logger } from '../../reconciler/types.js';
import { parseDuration } from '../../reconciler/duration.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import type { CuratorStore } from './store.js';

/** setTimeout's ceiling (~24.8 days); longer waits re-arm. */
const MAX_TIMER = 2 ** 31 - 1;
/** How soon a timer retries after the state store could not be read. */
const RETRY_MS = 60_000;

interface Entry {
  signature: string;
  stop(): void;
  next(): number | undefined;
}

export class CuratorScheduler {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly cstore: CuratorStore,
    private readonly run: (curator: string) => Promise<void>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Makes the registered schedule match `schedule`; returns the next run time. Idempotent. */
  ensure(curator: string, schedule: CuratorSpec['schedule']): number | undefined {
    const signature = schedule.cron ? `cron ${schedule.cron} ${schedule.timezone}` : `every ${schedule.every}`;
    const existing = this.entries.get(curator);
    if (existing?.signature === signature) return existing.next();
    existing?.stop();
    const entry = schedule.cron
      ? this.cronEntry(curator, schedule.cron, schedule.timezone, signature)
      : this.timerEntry(curator, parseDuration(schedule.every), signature);
    this.entries.set(curator, entry);
    return entry.next();
  }

  registered(curator: string): string | undefined {
    return this.entries.get(curator)?.signature;
  }

  remove(curator: string): void {
    this.entries.get(curator)?.stop();
    this.entries.delete(curator);
  }

  stopAll(): void {
    for (const e of this.entries.values()) e.stop();
    this.entries.clear();
  }

  private timerEntry(curator: string, everyMs: number, signature: string): Entry {
    if (everyMs <= 0)
      throw new CaduceusError('InvalidSchedule', `schedule.every must be positive`, { field: 'spec.schedule.every' });
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const due = (): number => {
      const a = this.cstore.scheduleAnchor(curator, this.now());
      return (a.lastRunAt ?? a.createdAt) + everyMs;
    };
    const arm = (): void => {
      if (stopped) return;
      let wait: number;
      try {
        wait = Math.max(0, due() - this.now());
      } catch (err) {
        // The state store could not be read (busy, disk): try again soon rather than drop the schedule.
        this.log.warn('curator schedule could not read its anchor; retrying in a minute', {
          curator,
          error: errorMessage(err),
        });
        wait = RETRY_MS;
      }
      timer = setTimeout(() => void fire(), Math.min(wait, MAX_TIMER));
      timer.unref();
    };
    const fire = async (): Promise<void> => {
      if (stopped) return;
      try {
        if (this.now() >= due()) {
          this.cstore.markScheduledRun(curator, this.now());
          await this.safeRun(curator);
        }
      } catch (err) {
        // A timer callback has no caller to report to: log, and keep the schedule armed.
        this.log.warn('scheduled curator run could not start', { curator, error: errorMessage(err) });
      }
      arm();
    };
    arm();
    return {
      signature,
      next: due,
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      },
    };
  }

  private cronEntry(curator: string, expr: string, timezone: string, signature: string): Entry {
    const problem = cronProblem(cron.validate, expr) ?? timeZoneProblem(timezone);
    if (problem) throw new CaduceusError('InvalidSchedule', problem, { field: 'spec.schedule' });
    this.cstore.scheduleAnchor(curator, this.now());
    const task: ScheduledTask = cron.schedule(
      expr,
      async () => {
        try {
          const a = this.cstore.scheduleAnchor(curator, this.now());
          if (a.lastRunAt === null && a.firstTickAt === null) {
            // The first tick after the Curator appeared: wait one full cycle so a team can pin first.
            this.cstore.markFirstTick(curator, this.now());
            return;
          }
          this.cstore.markScheduledRun(curator, this.now());
          await this.safeRun(curator);
        } catch (err) {
          // A cron callback has no caller to report to: log; the next tick tries again.
          this.log.warn('scheduled curator run could not start', { curator, error: errorMessage(err) });
        }
      },
      { timezone, name: `curator-${curator}`, noOverlap: true, unref: true },
    );
    return {
      signature,
      next: () => task.getNextRun()?.getTime(),
      stop: () => void task.destroy(),
    };
  }

  private async safeRun(curator: string): Promise<void> {
    try {
      await this.run(curator);
    } catch (err) {
      this.log.warn('scheduled curator run failed', { curator, error: errorMessage(err) });
    }
  }
}
