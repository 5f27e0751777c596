// TEMPORARY STUB (replaced by the reconciler-core work): the git webhook route.
import type { HttpRoute, Logger } from './types.js';

export interface PushInfo {
  provider: 'github' | 'gitea' | 'gitlab';
  ref?: string;
  after?: string;
  deliveryId?: string;
}

export function createGitWebhookRoute(_opts: { secret: () => string | undefined; onPush: (info: PushInfo) => void; log: Logger }): HttpRoute {
  return {
    method: 'POST',
    path: '/hooks/git',
    handler: (_req, res) => {
      res.writeHead(501);
      res.end();
    },
  };
}
