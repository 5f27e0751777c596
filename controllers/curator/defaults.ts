// Which Curator a run works for, and the spec it uses when the configuration declares
// none (`caduceus curator run` on a repository without a Curator resource): a Curator
// with an empty spec put through the loader, so the values are the schema's own defaults
// (schemas/curator.schema.json) and have no second copy here.

import { parseFile } from '../../reconciler/loader.js';
import { CaduceusError } from '../../reconciler/errors.js';
import type { CuratorSpec } from '../../reconciler/specs.js';
import type { Resource } from '../../reconciler/types.js';

const EMPTY_CURATOR = 'apiVersion: caduceus.dev/v1\nkind: Curator\nmetadata:\n  name: default\nspec: {}\n';
let defaults: CuratorSpec | undefined;

/** The schema's default Curator spec; a fresh copy on each call, so a caller may change it. */
export function defaultCuratorSpec(): CuratorSpec {
  if (!defaults) {
    const { docs, findings } = parseFile(Buffer.from(EMPTY_CURATOR));
    const spec = docs[0]?.resource?.spec;
    if (findings.length > 0 || spec === undefined) {
      // Only an edited schemas/curator.schema.json gets here, never a user's configuration.
      throw new CaduceusError(
        'CuratorDefaults',
        `schemas/curator.schema.json rejects a Curator with an empty spec: ${findings.map((f) => f.message).join('; ')}`,
        {
          hint: 'every property of the Curator spec needs a default or must be optional',
        },
      );
    }
    defaults = spec as CuratorSpec;
  }
  return structuredClone(defaults);
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
