// Opens the state store for the read-only commands (status, events, plan), with a clear
// error when `caduceus up` has never run in that state directory.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StateStore, stateUrl } from '../state/store.js';
import { isLocked, readHolder } from '../state/state-lock.js';
import { CaduceusError } from '../errors.js';
import { CoreStore } from '../state/core-store.js';
import { UsageError } from './args.js';
import { escapeControl } from './escape.js';

/** The state of `caduceus up`: PostgreSQL when CADUCEUS_STATE_URL says so, else the SQLite file in stateDir. */
export function openState(stateDir: string, opts: { mustExist: boolean } = { mustExist: true }): CoreStore | undefined {
  const url = stateUrl(undefined);
  if (url !== undefined) return new CoreStore(new StateStore({ stateDir, url }));
  if (!existsSync(join(stateDir, 'state.db'))) {
    // `up` holds the directory but its database is gone: it was deleted under the process.
    const h = isLocked(stateDir) ? readHolder(stateDir) : undefined;
    if (h)
      throw new CaduceusError(
        'StateCorrupt',
        `the state database ${join(stateDir, 'state.db')} was deleted while caduceus up ` +
          `(pid ${h.pid} on host ${h.host}, up since ${h.since}) was running; it keeps no state now`,
        { hint: 'restart caduceus up: it rebuilds revision and status from git' },
      );
    if (opts.mustExist) throw new UsageError(`no state in ${stateDir}: start 'caduceus up' first, or pass --state-dir`);
    return undefined;
  }
  return new CoreStore(new StateStore({ stateDir }));
}

export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/**
 * Left-aligned columns, for tables printed to a terminal. Cells come from repositories,
 * requests and run output: their control characters are escaped (escape.ts), so a row is
 * one line and nothing drives the terminal.
 */
export function table(header: string[], unsafeRows: string[][]): string {
  const rows = unsafeRows.map((r) => r.map(escapeControl));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[fmt(header), ...rows.map(fmt)].join('\n')}\n`;
}
