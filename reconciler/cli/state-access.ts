// Opens the state store for the read-only commands (status, events, plan), with a clear
// error when `caduceus up` has never run in that state directory.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StateStore, stateUrl } from '../state/store.js';
import { CoreStore } from '../state/core-store.js';
import { UsageError } from './args.js';

/** The state of `caduceus up`: PostgreSQL when CADUCEUS_STATE_URL says so, else the SQLite file in stateDir. */
export function openState(stateDir: string, opts: { mustExist: boolean } = { mustExist: true }): CoreStore | undefined {
  const url = stateUrl(undefined);
  if (url !== undefined) return new CoreStore(new StateStore({ stateDir, url }));
  if (!existsSync(join(stateDir, 'state.db'))) {
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

/** Left-aligned columns, for tables printed to a terminal. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[fmt(header), ...rows.map(fmt)].join('\n')}\n`;
}
