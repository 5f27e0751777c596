// Leadership among replicas of `caduceus up` on one PostgreSQL database: a lease row that
// the leader renews and a follower takes over once it has expired (by the database's
// clock, so replicas' clocks need not agree). A lease rather than a session advisory lock
// because a lease also ends when the leader's host vanishes without closing its socket.
// The leader that cannot renew in time steps down (the caller exits, as controller-runtime
// does), so two leaders never act at once for longer than one renewal interval.

import type { StateStore } from './store.js';

export interface LeaseOptions {
  /** How long a lease lasts without renewal (default 8 s). */
  ttlMs?: number;
  name?: string;
}

export interface LeaseState {
  holder: string;
  term: number;
  acquiredAt: number;
  expiresAt: number;
}

export interface Acquired {
  term: number;
  /** The holder whose expired lease this one replaced (its runs are to be abandoned). */
  previous?: string;
}

export class LeaderLease {
  readonly ttlMs: number;
  readonly name: string;

  constructor(
    private readonly store: StateStore,
    opts: LeaseOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 8_000;
    this.name = opts.name ?? 'up';
  }

  /** The holder is this store's owner. */
  get holder(): string {
    return this.store.owner;
  }

  current(): LeaseState | undefined {
    const r = this.store.db
      .prepare('SELECT holder, term, acquired_at, expires_at FROM leader_lease WHERE name = ?')
      .get(this.name) as { holder: string; term: number; acquired_at: number; expires_at: number } | undefined;
    return r && { holder: r.holder, term: r.term, acquiredAt: r.acquired_at, expiresAt: r.expires_at };
  }

  /** Takes the lease when nobody holds it or it has expired; undefined when another live holder has it. */
  tryAcquire(): Acquired | undefined {
    return this.store.tx(() => {
      const now = this.store.nowMs();
      const cur = this.current();
      if (cur && cur.holder !== this.holder && cur.expiresAt > now) return undefined;
      if (cur?.holder === this.holder) {
        this.extend(now);
        return { term: cur.term };
      }
      const term = (cur?.term ?? 0) + 1;
      this.store.db
        .prepare(
          `INSERT INTO leader_lease (name, holder, term, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, term = excluded.term,
             acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
        )
        .run(this.name, this.holder, term, now, now + this.ttlMs);
      return { term, previous: cur?.holder };
    });
  }

  /** Extends the lease; false when it is no longer ours (it expired and someone took it). */
  renew(): boolean {
    return this.store.tx(() => this.extend(this.store.nowMs()));
  }

  private extend(now: number): boolean {
    return (
      this.store.db
        .prepare('UPDATE leader_lease SET expires_at = ? WHERE name = ? AND holder = ?')
        .run(now + this.ttlMs, this.name, this.holder).changes === 1
    );
  }

  /** Gives the lease up at a clean shutdown, so a follower takes over at once. */
  release(): void {
    this.store.db.prepare('DELETE FROM leader_lease WHERE name = ? AND holder = ?').run(this.name, this.holder);
  }
}
