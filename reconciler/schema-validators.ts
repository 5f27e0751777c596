// The JSON Schema validator of each kind. `npm run build` compiles the schemas once into
// standalone ajv code (schema-codegen.ts writes dist/generated/); a process loads only the
// kinds it meets, and compiles nothing. Generated code that does not match the schema files
// on disk (an edit without a rebuild, a source checkout before its first build) is never
// used: its fingerprint differs, and the schema is compiled here with ajv instead. The
// build also stores V8's code cache of each validator, so loading one does not compile it.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import type { ErrorObject, Options } from 'ajv';
import type { Kind } from './types.js';

export const SCHEMA_FILES: Record<Kind, string> = {
  Runtime: 'runtime.schema.json',
  Skill: 'skill.schema.json',
  Task: 'task.schema.json',
  GatewayPolicy: 'gatewaypolicy.schema.json',
  Proxy: 'proxy.schema.json',
  Curator: 'curator.schema.json',
  ToolServer: 'toolserver.schema.json',
};

/**
 * Schemas of schemas/ that are no kind's (the front matter of an Agent Skills SKILL.md):
 * generated at build and loaded exactly like a kind's.
 */
export const OTHER_SCHEMA_FILES = { SkillMd: 'skill-md.schema.json' } as const;

/** A kind, or one of OTHER_SCHEMA_FILES. */
export type SchemaName = Kind | keyof typeof OTHER_SCHEMA_FILES;
const ALL_SCHEMA_FILES: Record<SchemaName, string> = { ...SCHEMA_FILES, ...OTHER_SCHEMA_FILES };
/** Every schema the build generates a validator for. */
export const SCHEMA_NAMES = Object.keys(ALL_SCHEMA_FILES) as SchemaName[];

/** The file under schemas/ of a kind or other schema. */
export function schemaFile(name: SchemaName): string {
  return ALL_SCHEMA_FILES[name];
}

/** Options of every compile, at build time and here; part of the fingerprint. */
export const AJV_OPTIONS = { strict: true, allErrors: true, useDefaults: true } as const satisfies Options;

type Ajv2020Class = typeof import('ajv/dist/2020.js').Ajv2020;

/**
 * The ajv every validator is compiled with (the build's and the fallback's): Ajv2020 with
 * AJV_OPTIONS and `extra`, but without the tracking of evaluated properties and items that
 * Ajv2020 always switches on. Only `unevaluatedProperties` and `unevaluatedItems` need it,
 * and no schema here may use them (checkNoUnevaluated); with it, every anyOf tries all its
 * branches and the compiled code records evaluated names in objects of its own, so a valid
 * skill's validation built 3.1 KB of error and bookkeeping objects, 1.8 KB without. The
 * verdicts and the errors are the same (schema-validators.test.ts compares them with a
 * plain Ajv2020 on valid and invalid documents).
 */
export function newAjv(Ajv2020: Ajv2020Class, extra: Options = {}): InstanceType<Ajv2020Class> {
  const ajv = new Ajv2020({ ...AJV_OPTIONS, ...extra });
  ajv.opts.unevaluated = false;
  return ajv;
}

/** Refuses a schema that needs the tracking newAjv leaves off. */
export function checkNoUnevaluated(schema: unknown, file: string): void {
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) walk(node[i], `${at}/${i}`);
    } else if (node !== null && typeof node === 'object')
      for (const [k, v] of Object.entries(node)) {
        if (k === 'unevaluatedProperties' || k === 'unevaluatedItems')
          throw new Error(
            `${file}: ${at}/${k}: the validators are compiled without tracking evaluated properties ` +
              '(schema-validators.ts newAjv); use additionalProperties/items instead',
          );
        walk(v, `${at}/${k}`);
      }
  };
  walk(schema, '#');
}

export type JsonSchema = Record<string, unknown>;

/** What a compiled validator is, standalone or not: a function that fills defaults and sets `errors`. */
export interface SchemaValidate {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

export interface KindValidator {
  validate: SchemaValidate;
  /** The parsed schema (error messages read allowed keys and oneOf branches from it). */
  schema(): JsonSchema;
  /** `generated` when the build's code was used, `compiled` when ajv compiled the schema here. */
  origin: 'generated' | 'compiled';
}

const require = createRequire(import.meta.url);

/** The package root: one level above reconciler/ (source) or two (dist/reconciler/). */
function packageRoot(): string {
  for (const rel of ['../', '../../']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}schemas/${SCHEMA_FILES.Skill}`)) return dir;
  }
  throw new Error('schemas/ not found next to the reconciler');
}

let root: string | undefined;
export function schemasDir(): string {
  root ??= packageRoot();
  return `${root}schemas/`;
}

/** Where the build writes the standalone validator of a kind (or other schema). */
export function generatedValidatorPath(name: SchemaName): string {
  root ??= packageRoot();
  return `${root}dist/generated/${name.toLowerCase()}.validate.cjs`;
}

/** V8's code cache of a generated validator, next to it. */
export function codeCachePath(generatedPath: string): string {
  return generatedPath.replace(/\.cjs$/, '.v8cache');
}

let ajvVersion: string | undefined;
/** Identifies the code ajv makes of a schema: ajv's version, the options and the schema's bytes. */
export function schemaFingerprint(schemaBytes: Buffer): string {
  ajvVersion ??= (require('ajv/package.json') as { version: string }).version;
  return createHash('sha256')
    .update(`ajv ${ajvVersion} ${JSON.stringify(AJV_OPTIONS)} unevaluated:false\0`)
    .update(schemaBytes)
    .digest('hex');
}

const loaded = new Map<SchemaName, KindValidator>();

export function validatorFor(kind: SchemaName): KindValidator {
  const hit = loaded.get(kind);
  if (hit) return hit;
  const bytes = readFileSync(schemasDir() + schemaFile(kind));
  let parsed: JsonSchema | undefined;
  const schema = (): JsonSchema => (parsed ??= JSON.parse(bytes.toString('utf8')) as JsonSchema);
  const generated = loadGenerated(generatedValidatorPath(kind), schemaFingerprint(bytes));
  const v: KindValidator = generated
    ? { validate: generated, schema, origin: 'generated' }
    : { validate: compile(schema()), schema, origin: 'compiled' };
  loaded.set(kind, v);
  return v;
}

/** The last line of a generated validator: the fingerprint of the schema it was made from. */
export function fingerprintStamp(fingerprint: string): string {
  return `\nmodule.exports.fingerprint = ${JSON.stringify(fingerprint)};\n`;
}

/**
 * The validator generated at `path`, if it exists and was made from a schema with this
 * fingerprint. The stamp is checked in the text first, so stale code is not even run.
 */
export function loadGenerated(path: string, fingerprint: string): SchemaValidate | undefined {
  let code: string;
  try {
    code = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  if (!code.endsWith(fingerprintStamp(fingerprint))) return undefined;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(codeCachePath(path));
  } catch {
    // no cache: V8 compiles the code
  }
  const mod = evaluateGenerated(path, code, cachedData).exports as SchemaValidate & { fingerprint?: string };
  return mod.fingerprint === fingerprint ? mod : undefined;
}

/**
 * Runs generated CommonJS code as `require` would, with V8's code cache when there is one.
 * A cache V8 rejects (another V8 version, other flags) costs only the compile it would
 * have saved.
 */
export function evaluateGenerated(
  path: string,
  code: string,
  cachedData?: Buffer,
): { script: Script; exports: unknown } {
  const script = new Script(`(function (exports, require, module) {${code}\n})`, {
    filename: path,
    cachedData,
  });
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown) => void;
  run(module.exports, createRequire(path), module);
  return { script, exports: module.exports };
}

let ajv: { compile(schema: JsonSchema): SchemaValidate } | undefined;
function compile(schema: JsonSchema): SchemaValidate {
  // Code optimisation halves compile time for no measurable difference in validation speed
  // on documents this small; the build's generated code is optimised (it is compiled once).
  if (!ajv) {
    const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    ajv = newAjv(Ajv2020, { code: { optimize: false } });
  }
  checkNoUnevaluated(schema, 'a schema');
  return ajv.compile(schema);
}
