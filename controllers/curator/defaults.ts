// The Curator spec used when a configuration declares none (`caduceus curator run` on a
// repository without a Curator resource); the same values the schema defaults to.

import type { CuratorSpec } from '../../reconciler/specs.js';

export const DEFAULT_CURATOR_SPEC: CuratorSpec = {
  schedule: { every: '7d', timezone: 'UTC' },
  actions: ['consolidate', 'prune', 'update'],
  thresholds: { similarity: 0.8, pruneAfter: '14d', staleAfter: '7d', failureRate: 0.5, window: '30d' },
  archive: true,
  archiveDir: 'archive',
  forge: { type: 'none' },
  branchPrefix: 'curator',
  labels: ['curator'],
};
