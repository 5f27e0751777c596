// Which Curator a run works for, and the spec it uses when the configuration declares
// none (`caduceus curator run` on a repository without a Curator resource): the schema's
// own defaults (reconciler/spec-defaults.ts), with no second copy here.

import { defaultSpec } from '../../reconciler/spec-defaults.js';
import type { CuratorSpec } from '../../reconciler/specs.js';
import type { Resource } from '../../reconciler/types.js';

/** The schema's default Curator spec; a fresh copy on each call, so a caller may change it. */
export function defaultCuratorSpec(): CuratorSpec {
  return defaultSpec('Curator');
}

/** `opts.curator` by name, else the first Curator of the configuration, else the defaults under the name "default". */
export function chooseCurator(
  resources: readonly Resource[],
  opts: { curator?: string; spec?: CuratorSpec },
): { curator: string; spec: CuratorSpec } {
  const curators = resources.filter((r): r is Resource<'Curator'> => r.kind === 'Curator');
  const chosen = opts.curator ? curators.find((c) => c.metadata.name === opts.curator) : curators[0];
  return {
    curator: opts.curator ?? chosen?.metadata.name ?? 'default',
    spec: opts.spec ?? chosen?.spec ?? defaultCuratorSpec(),
  };
}
