// The validators `npm run build` generates from schemas/ (standalone ajv code in
// dist/generated/): they are what the process uses, they judge every document as ajv
// compiling the schema would, and code that no longer matches its schema is never used.

import { describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  AJV_OPTIONS,
  SCHEMA_FILES,
  SCHEMA_NAMES,
  checkNoUnevaluated,
  codeCachePath,
  evaluateGenerated,
  generatedValidatorPath,
  loadGenerated,
  schemaFile,
  schemaFingerprint,
  schemasDir,
  validatorFor,
} from '../../reconciler/schema-validators.js';
import { tempDir } from '../helpers/temp.js';

const DOCS: unknown[] = [
  { apiVersion: 'caduceus.dev/v1', kind: 'Skill', metadata: { name: 's' }, spec: { version: '1', steps: [] } },
  {
    apiVersion: 'caduceus.dev/v1',
    kind: 'Skill',
    metadata: { name: 'Bad_Name', extra: 1 },
    spec: { version: 1, steps: [{ run: 'x', http: { url: 'ftp://x' } }], params: [{ name: 'p', type: 'nope' }] },
  },
  { apiVersion: 'caduceus.dev/v1', kind: 'Task', metadata: { name: 't' }, spec: { subtasks: [{ name: 'a' }] } },
  // anyOf with an early, a late and no passing branch; a oneOf of steps with one, none and two keys
  {
    apiVersion: 'caduceus.dev/v1',
    kind: 'Skill',
    metadata: { name: 'unions' },
    spec: {
      version: '1',
      description: 'd',
      params: [
        { name: 'a', default: 'x' },
        { name: 'b', type: 'boolean', default: true },
        { name: 'c', default: { no: 1 } },
      ],
      isolation: { memory: 'unlimited', cpus: 0.5, pids: 'many' },
      steps: [{ run: 'x' }, {}, { file: { path: 'p', action: 'read' }, skill: { name: 'k' } }],
    },
  },
  {
    apiVersion: 'caduceus.dev/v1',
    kind: 'Skill',
    metadata: { name: 'valid-unions' },
    spec: {
      version: '1',
      description: 'd',
      params: [{ name: 'n', type: 'number', default: 3 }],
      steps: [{ skill: { name: 'k', params: { a: 1, b: false, c: 'x' } } }, { http: { url: 'http://x' } }],
    },
  },
  {
    apiVersion: 'caduceus.dev/v1',
    kind: 'Proxy',
    metadata: { name: 'p' },
    spec: { keys: ['literal'], upstream: { baseURL: 'http://127.0.0.1:1/v1' } },
  },
  { apiVersion: 'caduceus.dev/v1', kind: 'Runtime', metadata: { name: 'r' }, spec: { concurrency: { default: 9 } } },
  { apiVersion: 'caduceus.dev/v1', kind: 'GatewayPolicy', metadata: { name: 'g' }, spec: { roles: [{}] } },
  { apiVersion: 'caduceus.dev/v1', kind: 'Curator', metadata: { name: 'c' }, spec: { schedule: { every: 'soon' } } },
  { apiVersion: 'caduceus.dev/v1', kind: 'ToolServer', metadata: { name: 'tickets' }, spec: { command: ['node'] } },
  { apiVersion: 'caduceus.dev/v1', kind: 'ToolServer', metadata: { name: 't' }, spec: { url: 'x', command: [] } },
  // SKILL.md front matter (schemas/skill-md.schema.json)
  { name: 'pdf-report', description: 'Makes a PDF report', metadata: { version: '1.2.0' } },
  { name: 'Bad--Name', description: '', 'allowed-tools': 3 },
];

describe('generated schema validators', () => {
  it('are the build output matching every schema on disk (SKILL.md front matter too), so none is compiled', () => {
    expect(SCHEMA_NAMES).toEqual(expect.arrayContaining(['ToolServer', 'SkillMd']));
    for (const kind of SCHEMA_NAMES) expect(validatorFor(kind).origin, kind).toBe('generated');
  });

  it('give the same verdict, errors and defaults as ajv compiling the schema', () => {
    const ajv = new Ajv2020({ ...AJV_OPTIONS });
    for (const kind of SCHEMA_NAMES) {
      const schema = JSON.parse(readFileSync(schemasDir() + schemaFile(kind), 'utf8')) as object;
      const compiled = ajv.compile(schema);
      const generated = validatorFor(kind).validate;
      for (const doc of DOCS) {
        const a = structuredClone(doc);
        const b = structuredClone(doc);
        expect(generated(a), `${kind} ${JSON.stringify(doc)}`).toBe(compiled(b));
        expect(generated.errors ?? null).toEqual(compiled.errors ?? null);
        expect(a).toEqual(b);
      }
    }
  });

  it('refuses a schema that needs evaluated properties tracked, which its compiles leave off', () => {
    expect(() =>
      checkNoUnevaluated({ type: 'object', anyOf: [{ unevaluatedProperties: false }] }, 'x.schema.json'),
    ).toThrow(/x\.schema\.json: #\/anyOf\/0\/unevaluatedProperties: the validators are compiled without tracking/);
    for (const kind of SCHEMA_NAMES)
      checkNoUnevaluated(JSON.parse(readFileSync(schemasDir() + schemaFile(kind), 'utf8')), schemaFile(kind));
  });

  it('never runs generated code whose schema fingerprint differs (a schema edited after the build)', () => {
    const dir = tempDir();
    const path = join(dir, 'skill.validate.cjs');
    const current = schemaFingerprint(readFileSync(schemasDir() + SCHEMA_FILES.Skill));
    // The build's own stamp, on a stand-in module (the real one needs node_modules next to it).
    expect(readFileSync(generatedValidatorPath('Skill'), 'utf8')).toContain(
      `module.exports.fingerprint = ${JSON.stringify(current)};`,
    );
    // Running the module counts its runs, so the test sees whether stale code was executed at all.
    const runs = globalThis as { caduceusStaleRuns?: number };
    runs.caduceusStaleRuns = 0;
    writeFileSync(
      path,
      'globalThis.caduceusStaleRuns += 1;\nmodule.exports = () => true;\n' +
        `module.exports.fingerprint = ${JSON.stringify(current)};\n`,
    );
    expect(loadGenerated(path, current)?.({})).toBe(true);
    expect(runs.caduceusStaleRuns).toBe(1);
    const edited = schemaFingerprint(
      Buffer.from(readFileSync(schemasDir() + SCHEMA_FILES.Skill, 'utf8').replace('"Caduceus Skill"', '"Edited"')),
    );
    expect(edited).not.toBe(current);
    expect(loadGenerated(path, edited)).toBeUndefined();
    expect(runs.caduceusStaleRuns).toBe(1);
    delete runs.caduceusStaleRuns;
    expect(loadGenerated(join(dir, 'missing.cjs'), current)).toBeUndefined();
    rmSync(dir, { recursive: true, force: true });
  });

  it('load with the code cache the build stored, and still work when V8 rejects a cache', () => {
    const path = generatedValidatorPath('Skill');
    const code = readFileSync(path, 'utf8');
    const built = evaluateGenerated(path, code, readFileSync(codeCachePath(path)));
    expect(built.script.cachedDataRejected).toBe(false);
    const foreign = evaluateGenerated(path, code, Buffer.from('not a V8 code cache'));
    expect(foreign.script.cachedDataRejected).toBe(true);
    const doc = (): unknown => ({ apiVersion: 'caduceus.dev/v1', kind: 'Skill', metadata: { name: 's' }, spec: {} });
    for (const v of [built.exports, foreign.exports] as Array<(d: unknown) => boolean>) {
      expect(v(doc())).toBe(false);
      expect(v({ ...(doc() as object), spec: { version: '1', description: 'd', steps: [{ run: 'true' }] } })).toBe(
        true,
      );
    }
  });
});
