// Durations as written in specs (`500ms`, `30s`, `1h30m`, `14d`) to milliseconds.

import { CaduceusError } from './errors.js';

/** A positive duration: `0s` would switch off what it bounds (a rate window, a timeout, a schedule). */
export const DURATION_PATTERN = '^(?=.*[1-9])([0-9]+(ms|s|m|h|d))+$';
const PART = /([0-9]+)(ms|s|m|h|d)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  if (!new RegExp(DURATION_PATTERN).test(text)) {
    throw new CaduceusError('InvalidDuration', `"${text}" is not a duration greater than zero`, {
      hint: 'write e.g. 500ms, 30s, 5m, 1h30m, 14d',
    });
  }
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
  return total;
}

/**
 * A delay as setTimeout can hold it: beyond 2^31-1 ms (~24.8 days) Node fires the timer at
 * once, so a longer timeout (say 30d) waits that long instead.
 */
export function timerDelay(ms: number): number {
  return Math.min(ms, 2_147_483_647);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)}h${Math.round((ms % 3_600_000) / 60_000)}m`;
  return `${Math.floor(ms / 86_400_000)}d${Math.round((ms % 86_400_000) / 3_600_000)}h`;
}
