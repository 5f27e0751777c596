// One JSON Schema for any Caduceus document: it picks the kind's schema from `kind`, so an
// editor given this one schema checks every document of a multi-document file. Built from
// the per-kind files in schemas/ (the source of truth) with each inlined under $defs, so
// the result is one self-contained file that resolves offline; schemas/caduceus.schema.json
// is this function's output, kept in step by a test.

import { readFileSync } from 'node:fs';
import { API_VERSION, KINDS } from './types.js';
import { SCHEMA_FILES, schemasDir } from './schema-validators.js';

export const SCHEMA_BASE_URI = 'https://caduceus.dev/schemas/v1/';
export const COMBINED_SCHEMA_FILE = 'caduceus.schema.json';

type Json = Record<string, unknown>;

/** Points the kind schema's own `#/$defs/…` references at its copy under `#/$defs/<Kind>`. */
function rebase(node: unknown, kind: string): unknown {
  if (Array.isArray(node)) return node.map((n) => rebase(n, kind));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    out[k] =
      k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `#/$defs/${kind}/${v.slice(2)}` : rebase(v, kind);
  }
  return out;
}

export function combinedSchema(dir = schemasDir()): Json {
  const defs: Json = {};
  for (const kind of KINDS) {
    const { $schema: _s, $id: _i, ...schema } = JSON.parse(readFileSync(dir + SCHEMA_FILES[kind], 'utf8')) as Json;
    defs[kind] = rebase(schema, kind);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_BASE_URI + COMBINED_SCHEMA_FILE,
    title: 'Caduceus resource',
    description: `Any Caduceus document (${API_VERSION}): the schema of its kind is chosen from \`kind\`.`,
    type: 'object',
    required: ['apiVersion', 'kind'],
    properties: {
      apiVersion: { description: 'API version of Caduceus resources.', type: 'string', const: API_VERSION },
      kind: { description: 'Kind of the resource.', type: 'string', enum: [...KINDS] },
    },
    allOf: KINDS.map((kind) => ({
      if: { properties: { kind: { const: kind } }, required: ['kind'] },
      // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword, not a thenable
      then: { $ref: `#/$defs/${kind}` },
    })),
    $defs: defs,
  };
}

/** The combined schema as written to schemas/caduceus.schema.json. */
export function combinedSchemaText(dir?: string): string {
  return `${JSON.stringify(combinedSchema(dir), null, 2)}\n`;
}
