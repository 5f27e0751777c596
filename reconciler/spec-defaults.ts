// The spec a kind gets when the configuration leaves everything out: an empty spec put
// through the loader, so the values are the schema's own defaults (schemas/*.schema.json)
// and have no second copy in code. Used where a resource may be absent (no Runtime, no
// Curator) or older than a default.

import { CaduceusError } from './errors.js';
import { parseFile } from './loader.js';
import { SCHEMA_FILES } from './schema-check.js';
import type { SpecByKind } from './specs.js';
import { API_VERSION, type Kind } from './types.js';

const cache = new Map<Kind, unknown>();

/** The schema's default spec of `kind`; a fresh copy on each call, so a caller may change it. */
export function defaultSpec<K extends Kind>(kind: K): SpecByKind[K] {
  let spec = cache.get(kind);
  if (spec === undefined) {
    const yaml = `apiVersion: ${API_VERSION}\nkind: ${kind}\nmetadata:\n  name: default\nspec: {}\n`;
    const { docs, findings } = parseFile(Buffer.from(yaml));
    spec = docs[0]?.resource?.spec;
    if (findings.length > 0 || spec === undefined) {
      // Only an edited schema gets here, never a user's configuration.
      throw new CaduceusError(
        'SchemaDefaults',
        `schemas/${SCHEMA_FILES[kind]} rejects a ${kind} with an empty spec: ` +
          findings.map((f) => f.message).join('; '),
        { hint: `every property of the ${kind} spec needs a default or must be optional` },
      );
    }
    cache.set(kind, spec);
  }
  return structuredClone(spec) as SpecByKind[K];
}
