// The git webhook's memory of deliveries: every verified delivery id, in the state store
// so that a replay is refused also after a restart, kept as long as the Runtime's audit
// retention says. One INSERT decides and records, so two copies arriving at once cannot
// both pass.

import type { SqlStatement } from '../reconciler/state/sql.js';
import type { StateStore } from '../reconciler/state/store.js';

const MIGRATIONS = [
  `CREATE TABLE git_webhook_deliveries (
     key TEXT PRIMARY KEY,
     at INTEGER NOT NULL
   );
   CREATE INDEX git_webhook_deliveries_by_at ON git_webhook_deliveries (at);`,
];

export class DeliveryLog {
  private readonly claim: SqlStatement;

  constructor(store: StateStore) {
    store.migrate('git-webhook', MIGRATIONS);
    store.retain({ table: 'git_webhook_deliveries', class: 'audit', time: 'at', unit: 'ms' });
    this.claim = store.db.prepare('INSERT INTO git_webhook_deliveries (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING');
  }

  /** True the first time `key` is seen; false for every later copy. */
  firstTime(key: string, now = Date.now()): boolean {
    return this.claim.run(key, now).changes === 1;
  }
}
