// One curator run or skill proposal at a time per state directory: a lock row in the
// curator's tables, taken over when older than its TTL (a crashed run).

import { CaduceusError } from '../../reconciler/errors.js';
import type { CuratorStore } from './store.js';

export async function acquireLock(cstore: CuratorStore, holder: string, waitMs: number, ttlMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (cstore.tryLock(holder, ttlMs)) return;
    if (Date.now() >= deadline) {
      throw new CaduceusError(
        'CuratorBusy',
        `another curator run (${cstore.lockHolder() ?? 'unknown'}) holds the lock`,
        { hint: 'wait for it to finish; a lock older than 30 minutes is taken over' },
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
