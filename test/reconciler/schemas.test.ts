// The JSON Schemas as a real consumer sees them: ajv in strict mode compiles each with no
// warning, every property is documented for editors, and defaults fill every field that
// reconciler/specs.ts declares non-optional (read from specs.ts with the TypeScript
// compiler, so the two cannot drift apart silently).

import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ts from 'typescript';
import { KINDS, type Kind } from '../../reconciler/types.js';
import { SCHEMA_FILES } from '../../reconciler/schema-check.js';
import { COMBINED_SCHEMA_FILE, SCHEMA_BASE_URI, combinedSchemaText } from '../../reconciler/combined-schema.js';
import { DURATION_PATTERN } from '../../reconciler/duration.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
type Json = Record<string, unknown>;
const schemaOf = (kind: Kind): Json => JSON.parse(readFileSync(`${root}schemas/${SCHEMA_FILES[kind]}`, 'utf8')) as Json;

/** The smallest valid document of each kind: only what has no default. */
const MINIMAL: Record<Kind, Json> = {
  Runtime: {},
  Skill: {
    version: '1',
    description: 'd',
    steps: [{ run: 'true' }, { http: { url: 'http://127.0.0.1/' } }],
    params: [{ name: 'p' }],
  },
  Task: { subtasks: [{ name: 's', run: 'true' }], schedule: { cron: '0 6 * * 1' } },
  GatewayPolicy: {
    platforms: {
      discord: { applicationId: '1', publicKey: { valueFrom: { env: 'K' } } },
      slack: { signingSecret: { valueFrom: { env: 'K' } } },
      telegram: { secretToken: { valueFrom: { env: 'K' } }, botToken: { valueFrom: { file: 'k' } } },
      webhook: { secret: { valueFrom: { env: 'K' } } },
    },
    roles: [{ name: 'r' }],
  },
  Proxy: { keys: [{ valueFrom: { env: 'K' } }], upstream: { baseURL: 'http://127.0.0.1:1/v1' } },
  Curator: {},
  ToolServer: { command: ['node', 'server.js'], headers: { Authorization: { valueFrom: { env: 'K' } } } },
};

function strictAjv(): { ajv: Ajv2020; warnings: string[] } {
  const warnings: string[] = [];
  const logger = {
    log: (...a: unknown[]) => warnings.push(a.join(' ')),
    warn: (...a: unknown[]) => warnings.push(a.join(' ')),
    error: (...a: unknown[]) => warnings.push(a.join(' ')),
  };
  return { ajv: new Ajv2020({ strict: true, allErrors: true, useDefaults: true, logger }), warnings };
}

/** Non-optional property paths of each spec type in specs.ts, recursing into object types. */
function requiredPaths(): Record<Kind, (value: unknown) => string[]> {
  const file = `${root}reconciler/specs.ts`;
  const program = ts.createProgram([file], { strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file) as ts.SourceFile;
  const moduleSymbol = checker.getSymbolAtLocation(source) as ts.Symbol;
  const exports = new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));
  const isLeaf = (t: ts.Type): boolean =>
    !(t.flags & ts.TypeFlags.Object) ||
    checker.isArrayType(t) ||
    t.isUnion() ||
    checker.getPropertiesOfType(t).length === 0 ||
    !!checker.getIndexInfosOfType(t).length;
  const missing = (t: ts.Type, value: unknown, path: string, out: string[]): void => {
    if (checker.isArrayType(t)) {
      const item = checker.getTypeArguments(t as ts.TypeReference)[0];
      if (item && Array.isArray(value))
        value.forEach((v, i) => {
          if (!isLeaf(item)) missing(item, v, `${path}[${i}]`, out);
        });
      return;
    }
    if (isLeaf(t)) return;
    for (const prop of checker.getPropertiesOfType(t)) {
      const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
      const v = (value as Json | undefined)?.[prop.name];
      const propType = checker.getTypeOfSymbol(prop);
      if (v === undefined) {
        if (!optional) out.push(`${path}.${prop.name}`);
        continue;
      }
      const nonNull = checker.getNonNullableType(propType);
      if (nonNull.isUnion() && nonNull.types.every((u) => !(u.flags & ts.TypeFlags.Object))) continue;
      missing(nonNull, v, `${path}.${prop.name}`, out);
    }
  };
  const byKind = checker.getDeclaredTypeOfSymbol(exports.get('SpecByKind') as ts.Symbol);
  const out = {} as Record<Kind, (value: unknown) => string[]>;
  for (const kind of KINDS) {
    const prop = byKind.getProperty(kind) as ts.Symbol;
    const t = checker.getTypeOfSymbol(prop);
    out[kind] = (value) => {
      const acc: string[] = [];
      missing(t, value, 'spec', acc);
      return acc;
    };
  }
  return out;
}

describe('resource schemas', () => {
  it('has one draft 2020-12 schema per kind with its $id, the SKILL.md front matter one and the combined one', () => {
    expect(readdirSync(`${root}schemas`).sort()).toEqual(
      [...Object.values(SCHEMA_FILES), 'skill-md.schema.json', COMBINED_SCHEMA_FILE].sort(),
    );
    for (const kind of KINDS) {
      const s = schemaOf(kind);
      expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(s.$id).toBe(SCHEMA_BASE_URI + SCHEMA_FILES[kind]);
      expect((s.properties as Json).kind).toMatchObject({ const: kind });
      expect((s.properties as Json).apiVersion).toMatchObject({ const: 'caduceus.dev/v1' });
    }
  });

  it('keeps schemas/caduceus.schema.json as built from the kind schemas (regenerate: npm run schemas)', () => {
    expect(readFileSync(`${root}schemas/${COMBINED_SCHEMA_FILE}`, 'utf8')).toBe(combinedSchemaText());
  });

  it('checks any document by the schema its kind names, in ajv strict mode', () => {
    const { ajv, warnings } = strictAjv();
    const validate = ajv.compile(JSON.parse(readFileSync(`${root}schemas/${COMBINED_SCHEMA_FILE}`, 'utf8')) as Json);
    expect(warnings).toEqual([]);
    for (const kind of KINDS) {
      const doc = {
        apiVersion: 'caduceus.dev/v1',
        kind,
        metadata: { name: 'x' },
        spec: structuredClone(MINIMAL[kind]),
      };
      expect(validate(doc), `${kind}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    // A Task's field in a Skill is an error of the Skill schema, at the field.
    const skill = {
      apiVersion: 'caduceus.dev/v1',
      kind: 'Skill',
      metadata: { name: 'x' },
      spec: { ...MINIMAL.Skill, subtasks: [] },
    };
    expect(validate(skill)).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({
        instancePath: '/spec',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'subtasks' },
      }),
    );
    expect(validate({ apiVersion: 'caduceus.dev/v1', kind: 'Widget', metadata: { name: 'x' } })).toBe(false);
  });

  it('compiles every schema in ajv strict mode without a single warning', () => {
    const { ajv, warnings } = strictAjv();
    for (const kind of KINDS) expect(() => ajv.compile(schemaOf(kind))).not.toThrow();
    expect(warnings).toEqual([]);
  });

  it('documents every property and closes every object', () => {
    const problems: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) {
        node.forEach((n, i) => {
          walk(n, `${path}/${i}`);
        });
        return;
      }
      if (node === null || typeof node !== 'object') return;
      const n = node as Json;
      if (n.type === 'object' && n.properties && n.additionalProperties !== false)
        problems.push(`${path}: additionalProperties is not false`);
      if (n.properties) {
        for (const [key, sub] of Object.entries(n.properties as Json)) {
          if (sub === true) continue; // `{required: [x], properties: {x: true}}` branches of oneOf
          if (typeof (sub as Json).description !== 'string') problems.push(`${path}/properties/${key}: no description`);
        }
      }
      for (const [k, v] of Object.entries(n)) walk(v, `${path}/${k}`);
    };
    for (const kind of KINDS) walk(schemaOf(kind), SCHEMA_FILES[kind]);
    expect(problems).toEqual([]);
  });

  it('fills every non-optional field of specs.ts from defaults for a minimal document of each kind', () => {
    const { ajv } = strictAjv();
    const check = requiredPaths();
    // The check itself sees what an empty spec lacks.
    expect(check.Runtime({})).toEqual(expect.arrayContaining(['spec.execution', 'spec.concurrency', 'spec.retry']));
    expect(check.Skill({ steps: [] })).toEqual(
      expect.arrayContaining(['spec.version', 'spec.timeout', 'spec.aliases']),
    );
    for (const kind of KINDS) {
      const doc = {
        apiVersion: 'caduceus.dev/v1',
        kind,
        metadata: { name: 'x' },
        spec: structuredClone(MINIMAL[kind]),
      };
      const validate = ajv.compile(schemaOf(kind));
      expect(validate(doc), `${kind}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(check[kind](doc.spec), kind).toEqual([]);
    }
  });

  it('uses the documented defaults', () => {
    const { ajv } = strictAjv();
    const spec = (kind: Kind): Json => {
      const doc = {
        apiVersion: 'caduceus.dev/v1',
        kind,
        metadata: { name: 'x' },
        spec: structuredClone(MINIMAL[kind]),
      };
      ajv.compile(schemaOf(kind))(doc);
      return doc.spec;
    };
    expect(spec('Runtime')).toMatchObject({
      execution: { mode: 'local', envAllowlist: ['PATH', 'HOME', 'LANG', 'TZ'], outputLimitBytes: 1048576 },
      isolation: { image: 'caduceus-sandbox:latest', network: 'none', readOnly: true },
      concurrency: { default: 3, maximum: 6, queueLimit: 100 },
      retry: { maxAttempts: 3, initialDelay: '1s', maxDelay: '1m', factor: 2, jitter: 0.2 },
      skills: { autoCreateThreshold: 7 },
    });
    expect(spec('Skill')).toMatchObject({
      timeout: '10m',
      aliases: [],
      params: [{ name: 'p', type: 'string', required: false }],
    });
    expect(spec('Task')).toMatchObject({ timeout: '1h', schedule: { timezone: 'UTC', concurrencyPolicy: 'Forbid' } });
    expect(spec('Proxy')).toMatchObject({
      bind: '127.0.0.1',
      port: 8080,
      preload: [],
      allowPublicBind: false,
      injectSkills: false,
      limits: { maxBodyBytes: 10485760, requestsPerMinute: 600 },
      upstream: { timeout: '60s' },
    });
    expect(spec('GatewayPolicy')).toMatchObject({
      rateLimit: { requests: 10, per: '1m' },
      audit: { level: 'all' },
      platforms: { discord: { channels: [] } },
    });
    expect(spec('Curator')).toMatchObject({
      schedule: { every: '7d', timezone: 'UTC' },
      actions: ['consolidate', 'prune', 'update'],
      thresholds: { similarity: 0.8, pruneAfter: '14d', staleAfter: '7d', failureRate: 0.5, window: '30d' },
      archive: true,
      archiveDir: 'archive',
      forge: { type: 'none' },
      branchPrefix: 'curator',
      labels: ['curator'],
    });
  });

  it('writes every duration with the pattern parseDuration understands', () => {
    const found: string[] = [];
    const walk = (node: unknown): void => {
      if (node === null || typeof node !== 'object') return;
      const n = node as Json;
      if (typeof n.pattern === 'string' && n.pattern.includes('ms|s|m|h|d')) found.push(n.pattern);
      for (const v of Object.values(n)) walk(v);
    };
    for (const kind of KINDS) walk(schemaOf(kind));
    expect(found.length).toBeGreaterThan(10);
    expect(new Set(found)).toEqual(new Set([DURATION_PATTERN]));
  });

  it('rejects a literal where a secret reference belongs, in every kind that holds one', () => {
    const { ajv } = strictAjv();
    const cases: Array<[Kind, Json]> = [
      ['Runtime', { llm: { baseURL: 'http://127.0.0.1:1', apiKey: 'sk-live' } }],
      ['Proxy', { keys: ['sk-live'] }],
      ['GatewayPolicy', { platforms: { slack: { signingSecret: 'abc' } } }],
      ['Curator', { forge: { type: 'github', token: 'ghp_x' } }],
    ];
    for (const [kind, spec] of cases) {
      const validate = ajv.compile(schemaOf(kind));
      expect(validate({ apiVersion: 'caduceus.dev/v1', kind, metadata: { name: 'x' }, spec }), kind).toBe(false);
      expect(
        validate.errors?.some((e) => /^#\/\$defs\/(secretRef|keyRef)\/type$/.test(e.schemaPath)),
        kind,
      ).toBe(true);
    }
  });
});
