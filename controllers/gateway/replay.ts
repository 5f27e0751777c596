// Remembers what each platform already delivered (a signature, an interaction id, an
// update id) for longer than the platform's freshness window, so a captured request sent
// again is refused, also after a restart: the keys live in the state store, not in memory.
// Only verified requests are remembered, so nobody can fill the table for free.

import type { SqlStatement } from '../../reconciler/state/sql.js';
import type { StateStore } from '../../reconciler/state/store.js';
import { GATEWAY_MIGRATIONS } from './audit-store.js';

/** Expired rows are deleted once every this many remembered keys (and once at start). */
const SWEEP_EVERY = 256;

export class ReplayStore {
  private readonly claim: SqlStatement;
  private readonly sweeper: SqlStatement;
  private sinceSweep = 0;

  constructor(store: StateStore, now = Date.now()) {
    store.migrate('gateway', GATEWAY_MIGRATIONS);
    // One statement decides and records, so two requests carrying the same key (in this
    // process or another one on the same state directory) cannot both pass. A row that
    // exists but has expired is taken over instead of blocking the key forever.
    this.claim = store.db.prepare(
      `INSERT INTO gateway_replay (key, expires_at) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE gateway_replay.expires_at <= ?`,
    );
    this.sweeper = store.db.prepare('DELETE FROM gateway_replay WHERE expires_at <= ?');
    this.sweep(now);
  }

  /** True when `key` was seen and has not expired; otherwise remembers it until now + ttlMs and returns false. */
  checkAndRemember(key: string, ttlMs: number, now = Date.now()): boolean {
    const { changes } = this.claim.run(key, now + ttlMs, now);
    if (changes === 0) return true;
    if (++this.sinceSweep >= SWEEP_EVERY) this.sweep(now);
    return false;
  }

  /** Deletes expired keys; uses the index on expires_at, so it costs what it deletes. */
  sweep(now = Date.now()): number {
    this.sinceSweep = 0;
    return this.sweeper.run(now).changes;
  }
}
