// Build step (`npm run build` runs it after tsc): compiles each kind's JSON Schema (and the
// SKILL.md front matter's, OTHER_SCHEMA_FILES) into
// standalone ajv code in dist/generated/, stamped with the schema's fingerprint, and
// stores V8's code cache of it, so no process compiles a schema at start-up. Nothing it
// writes is committed; a schema edited after the build is caught by the fingerprint
// (schema-validators.ts).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { API_VERSION } from './types.js';
import {
  SCHEMA_NAMES,
  checkNoUnevaluated,
  codeCachePath,
  evaluateGenerated,
  fingerprintStamp,
  generatedValidatorPath,
  newAjv,
  schemaFile,
  schemaFingerprint,
  schemasDir,
  type JsonSchema,
} from './schema-validators.js';

for (const kind of SCHEMA_NAMES) {
  const bytes = readFileSync(schemasDir() + schemaFile(kind));
  const schema = JSON.parse(bytes.toString('utf8')) as JsonSchema;
  checkNoUnevaluated(schema, schemaFile(kind));
  const ajv = newAjv(Ajv2020, { code: { source: true } });
  const validate = ajv.compile(schema);
  const code = `${standaloneCode.default(ajv, validate)}${fingerprintStamp(schemaFingerprint(bytes))}`;
  const path = generatedValidatorPath(kind);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  // One call compiles the validator (V8 compiles a function when it is first called), so
  // the cache taken afterwards holds its code, not only the module's top level.
  const { script, exports } = evaluateGenerated(path, code);
  (exports as (doc: unknown) => boolean)({ apiVersion: API_VERSION, kind, metadata: { name: 'x' }, spec: {} });
  writeFileSync(codeCachePath(path), script.createCachedData());
}
