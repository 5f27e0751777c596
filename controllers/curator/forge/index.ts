// Builds the forge a Curator spec names. This factory is the only place that looks at
// forge.type; everything after it talks to the Forge interface.

import type { CuratorSpec } from '../../../reconciler/specs.js';
import { CaduceusError } from '../../../reconciler/errors.js';
import { resolveSecret, type SecretOptions } from '../../../reconciler/secrets.js';
import type { Forge } from './types.js';
import { createGitHubForge } from './github/index.js';
import { createGiteaForge } from './gitea/index.js';
import { createGitLabForge } from './gitlab/index.js';
import { createNoneForge, type BranchState } from './none/index.js';

export type { Forge, PullRequest, PrState, PrInput } from './types.js';

const FORGES = {
  github: createGitHubForge,
  gitea: createGiteaForge,
  gitlab: createGitLabForge,
} as const;

export function createForge(
  spec: CuratorSpec['forge'],
  branches: BranchState,
  remote: string,
  secrets: SecretOptions = {},
): Forge {
  if (spec.type === 'none') return createNoneForge(branches, remote);
  if (!spec.token)
    throw new CaduceusError('ForgeMisconfigured', `forge ${spec.type} needs a token reference`, {
      field: 'spec.forge.token',
      hint: 'token: {valueFrom: {env: FORGE_TOKEN}}',
    });
  const token = resolveSecret(spec.token, secrets);
  return FORGES[spec.type]({ token, url: spec.url, repo: spec.repo });
}
