// One curator run or skill proposal at a time per state directory: a lock row in the
// curator's tables, taken over when older than its TTL (a crashed run).

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CaduceusError } from '../../reconciler/errors.js';
import type { CuratorStore } from './store.js';
import { checkoutTrackedTip, type GitWork } from './git-work.js';

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

/**
 * A proposal's turn with the curator's clone: the lock, then the clone checked out at the
 * tracked tip for fn; the lock goes back when fn ends, however it ends.
 */
export async function withTrackedClone<T>(
  stateDir: string,
  source: { repo: string; branch?: string; path?: string },
  cstore: CuratorStore,
  lockWaitMs: number | undefined,
  fn: (clone: { git: GitWork; tip: string; root: string; path: string }) => Promise<T>,
): Promise<T> {
  const holder = randomUUID();
  await acquireLock(cstore, holder, lockWaitMs ?? 600_000, 1_800_000);
  try {
    return await fn(
      await checkoutTrackedTip(join(stateDir, 'curator', 'clone'), source.repo, source.branch, source.path),
    );
  } finally {
    cstore.unlock(holder);
  }
}
