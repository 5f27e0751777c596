// The combined schema with a JSON Schema client nobody here wrote: `ajv-cli` in strict
// draft 2020-12 mode, as a config repository's CI or a pre-commit hook may run it without
// Caduceus installed. The example validates; a broken document fails at the field of the
// schema its kind names.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp.js';
import { KINDS } from '../../reconciler/types.js';

const ROOT = join(import.meta.dirname, '..', '..');
const AJV = join(ROOT, 'node_modules', '.bin', 'ajv');
const SCHEMA = join(ROOT, 'schemas', 'caduceus.schema.json');
const EXAMPLE = join(ROOT, 'examples', 'repo');

function ajv(...files: string[]): { code: number | null; stdout: string; stderr: string } {
  const args = ['validate', '--spec=draft2020', '--strict=true', '--errors=json', '-s', SCHEMA];
  const r = spawnSync(AJV, [...args, ...files.flatMap((f) => ['-d', f])], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface AjvError {
  instancePath: string;
  schemaPath: string;
  message: string;
  params: Record<string, unknown>;
}

/** The `[...]` error list ajv-cli prints to stderr after `FILE invalid`. */
function errors(stderr: string): AjvError[] {
  return JSON.parse(stderr.slice(stderr.indexOf('['))) as AjvError[];
}

describe('ajv-cli with schemas/caduceus.schema.json', () => {
  it('finds every file of the example valid, whatever its kind', () => {
    const files = ['', 'skills', 'tasks'].flatMap((d) =>
      readdirSync(join(EXAMPLE, d))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(EXAMPLE, d, f)),
    );
    expect(files).toHaveLength(11);
    const r = ajv(...files);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(files.map((f) => `${f} valid`).sort());
  });

  it('rejects a Proxy with a port that is not a number, at /spec/port of the Proxy schema', () => {
    const file = join(tempDir('caduceus-ajv-'), 'proxy.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: caduceus.dev/v1',
        'kind: Proxy',
        'metadata:',
        '  name: team-proxy',
        'spec:',
        '  port: eighty',
        '  keys:',
        '    - valueFrom: {env: CADUCEUS_PROXY_KEY}',
        '',
      ].join('\n'),
    );
    const r = ajv(file);
    expect(r.code).toBe(1);
    expect(r.stderr.startsWith(`${file} invalid\n`)).toBe(true);
    expect(errors(r.stderr)[0]).toMatchObject({
      instancePath: '/spec/port',
      schemaPath: '#/properties/spec/properties/port/type',
      message: 'must be integer',
    });
  });

  it('rejects a document of no known kind, listing the kinds there are', () => {
    const file = join(tempDir('caduceus-ajv-'), 'widget.yaml');
    writeFileSync(file, 'apiVersion: caduceus.dev/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {}\n');
    const r = ajv(file);
    expect(r.code).toBe(1);
    expect(errors(r.stderr)).toEqual([
      expect.objectContaining({
        instancePath: '/kind',
        message: 'must be equal to one of the allowed values',
        params: { allowedValues: [...KINDS] },
      }),
    ]);
  });
});
