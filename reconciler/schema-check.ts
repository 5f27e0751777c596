// Second stage of loading: validates one document against its kind's JSON Schema (ajv,
// filling defaults) and turns ajv's errors into findings a person can act on, each at
// the YAML node it is about: an unknown key at the key, a missing one at its parent.

import type { ErrorObject } from 'ajv';
import { API_VERSION, KINDS, type Kind } from './types.js';
import { DURATION_PATTERN } from './duration.js';
import { validatorFor, type JsonSchema, type SchemaName } from './schema-validators.js';
import type { FileFinding, YamlDocument } from './yaml-documents.js';

export { SCHEMA_FILES } from './schema-validators.js';

export interface CheckedDocument {
  kind: Kind;
  /** The document after defaults; only meaningful when valid. */
  value: {
    apiVersion: string;
    kind: Kind;
    metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: unknown;
  };
  valid: boolean;
}

/**
 * Checks apiVersion and kind, then the schema. Returns undefined when the document is not
 * even a resource (the findings say why); otherwise the defaulted value and its validity.
 */
export function checkDocument(doc: YamlDocument, findings: FileFinding[]): CheckedDocument | undefined {
  const v = doc.value;
  const err = (path: (string | number)[], rule: string, message: string, at: 'value' | 'key' = 'value'): void => {
    findings.push({ ...doc.locate(path, at), severity: 'error', rule, message });
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    err([], 'schema', 'a document must be a mapping with apiVersion, kind, metadata and spec');
    return undefined;
  }
  const obj = v as Record<string, unknown>;
  let ok = true;
  if (obj.apiVersion === undefined) {
    err([], 'schema', `missing required property "apiVersion" (write apiVersion: ${API_VERSION})`);
    ok = false;
  } else if (obj.apiVersion !== API_VERSION) {
    err(
      ['apiVersion'],
      'unknown-api-version',
      `unknown apiVersion ${JSON.stringify(obj.apiVersion)}; this version of Caduceus reads ${API_VERSION}`,
    );
    ok = false;
  }
  if (obj.kind === undefined) {
    err([], 'schema', `missing required property "kind" (one of ${KINDS.join(', ')})`);
    return undefined;
  }
  if (typeof obj.kind !== 'string' || !(KINDS as readonly string[]).includes(obj.kind)) {
    err(['kind'], 'unknown-kind', `unknown kind ${JSON.stringify(obj.kind)}; expected one of ${KINDS.join(', ')}`);
    return undefined;
  }
  if (!ok) return undefined;
  const kind = obj.kind as Kind;
  const { schema, validate } = validatorFor(kind);
  const valid = validate(obj);
  if (!valid)
    for (const f of describeErrors(validate.errors ?? [], schema(), obj)) err(f.path, f.rule, f.message, f.at);
  return { kind, value: obj as unknown as CheckedDocument['value'], valid };
}

/**
 * Checks a document against a schema of schemas/ that is no kind's (the SKILL.md front
 * matter), through the same generated validators, with findings placed like a kind's;
 * true when it is valid.
 */
export function checkAgainstSchema(name: SchemaName, doc: YamlDocument, findings: FileFinding[]): boolean {
  const { schema, validate } = validatorFor(name);
  if (validate(doc.value)) return true;
  for (const f of describeErrors(validate.errors ?? [], schema(), doc.value)) {
    findings.push({ ...doc.locate(f.path, f.at), severity: 'error', rule: f.rule, message: f.message });
  }
  return false;
}

interface Described {
  path: (string | number)[];
  at: 'value' | 'key';
  rule: string;
  message: string;
}

function describeErrors(errors: ErrorObject[], root: JsonSchema, instance: unknown): Described[] {
  // A failed oneOf/anyOf explains itself; the failures of its branches are noise.
  const groups = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  const inGroup = (e: ErrorObject): boolean =>
    groups.some(
      (g) => g !== e && e.schemaPath.startsWith(`${g.schemaPath}/`) && e.instancePath.startsWith(g.instancePath),
    );
  const out: Described[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (inGroup(e)) continue;
    const d = describe(e, root, instance);
    const id = `${d.path.join('/')}|${d.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(d);
  }
  return out;
}

function describe(e: ErrorObject, root: JsonSchema, instance: unknown): Described {
  const path = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map(unescapePointer);
  const where = fieldPath(path);
  const prefix = where ? `${where}: ` : '';
  const secret = /^#\/\$defs\/(secretRef|keyRef)\//.test(e.schemaPath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      if (secret && /^#\/\$defs\/(secretRef|keyRef)\/type$/.test(e.schemaPath)) {
        return {
          path,
          at: 'value',
          rule: 'literal-secret',
          message:
            `${prefix}a secret may not be written in the repository; ` +
            'use valueFrom: {env: NAME} or valueFrom: {file: PATH}',
        };
      }
      return { path, at: 'value', rule: 'schema', message: `${prefix}must be ${article(String(p.type))}` };
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys(
        (schemaAt(root, e.schemaPath.replace(/\/additionalProperties$/, '')) as { properties?: object } | undefined)
          ?.properties ?? {},
      );
      const hint = secret
        ? '; a secret is valueFrom: {env: NAME} or valueFrom: {file: PATH}'
        : allowed.length
          ? ` (allowed: ${allowed.join(', ')})`
          : '';
      return {
        path: [...path, key],
        at: 'key',
        rule: secret ? 'literal-secret' : 'schema',
        message: `${prefix}unknown property "${key}"${hint}`,
      };
    }
    case 'required':
      return {
        path,
        at: 'value',
        rule: 'schema',
        message: `${prefix || 'document: '}missing required property "${String(p.missingProperty)}"`,
      };
    case 'dependentRequired':
      return {
        path,
        at: 'value',
        rule: 'schema',
        message: `${prefix}"${String(p.property)}" needs "${String(p.missingProperty)}"`,
      };
    case 'enum':
      return {
        path,
        at: 'value',
        rule: 'schema',
        message: `${prefix}must be one of ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`,
      };
    case 'pattern': {
      const id = platformIdProblem(path, valueAt(instance, path));
      if (id) return { path, at: 'value', rule: id.rule, message: `${prefix}${id.message}` };
      return { path, at: 'value', rule: 'schema', message: `${prefix}${patternMessage(String(p.pattern))}` };
    }
    case 'minProperties':
    case 'maxProperties':
      if (secret) return { path, at: 'value', rule: 'schema', message: `${prefix}set exactly one of env or file` };
      break;
    case 'oneOf':
    case 'anyOf': {
      const branches = (schemaAt(root, e.schemaPath) as JsonSchema[] | undefined) ?? [];
      const keys = branches.map((b) =>
        Array.isArray(b.required) && b.required.length === 1 ? String(b.required[0]) : undefined,
      );
      if (keys.every((k) => k !== undefined)) {
        const passing = p.passingSchemas as number[] | null | undefined;
        const set = Array.isArray(passing) ? passing.map((i) => keys[i]).join(' and ') : undefined;
        const list = keys.join(', ');
        return {
          path,
          at: 'value',
          rule: 'schema',
          message: set ? `${prefix}sets ${set}; keep exactly one of ${list}` : `${prefix}needs exactly one of ${list}`,
        };
      }
      const types = branches.map((b) => b.type).filter((t): t is string => typeof t === 'string');
      if (types.length === branches.length)
        return { path, at: 'value', rule: 'schema', message: `${prefix}must be ${types.map(article).join(' or ')}` };
      break;
    }
  }
  return { path, at: 'value', rule: 'schema', message: `${prefix}${e.message ?? e.keyword}` };
}

const DNS_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
function patternMessage(pattern: string): string {
  if (pattern === DURATION_PATTERN)
    return (
      'must be a duration greater than zero, such as 500ms, 30s, 5m, 1h30m or 14d ' +
      '(0 would switch off what it bounds)'
    );
  if (pattern === DNS_PATTERN)
    return 'must be a DNS label: lower-case letters, digits and "-", starting and ending with a letter or digit';
  if (pattern === '^https?://') return 'must be an http:// or https:// URL';
  return `must match the pattern ${pattern}`;
}

/**
 * Chat platforms send ids, never names: a channel written as `engineering-ops` would
 * refuse every real request. Says what the id looks like and where to find it.
 */
function platformIdProblem(
  path: readonly (string | number)[],
  value: unknown,
): { rule: string; message: string } | undefined {
  const got = JSON.stringify(value);
  const channels = path.indexOf('channels');
  if (path[0] === 'spec' && path[1] === 'platforms' && channels === 3) {
    switch (path[2]) {
      case 'discord':
        return {
          rule: 'channel-id',
          message:
            `${got} is not a Discord channel id: Discord sends the channel's number (such as ` +
            '1187654321098765500), never its name; with Developer Mode on, right-click the channel and Copy Channel ID',
        };
      case 'slack':
        return {
          rule: 'channel-id',
          message:
            `${got} is not a Slack channel id: Slack sends ids such as C0123456789 (C, G or D and upper-case ` +
            'letters and digits), never #names; the id is at the bottom of the channel details',
        };
      case 'telegram':
        return {
          rule: 'channel-id',
          message:
            `${got} is not a Telegram chat id: Telegram sends the chat's number (groups and channels are ` +
            'negative, such as -1001234567890), never its @name',
        };
    }
  }
  if (path[0] === 'spec' && path[1] === 'roles' && path[3] === 'users') {
    return {
      rule: 'user-id',
      message:
        `${got} is not a user id of a platform: write discord:<number>, ` +
        'slack:<member id such as U0123456789>, telegram:<number> or webhook:<name>',
    };
  }
  return undefined;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (const seg of path)
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
  return node;
}

function article(type: string): string {
  return type === 'integer' || type === 'object' || type === 'array' ? `an ${type}` : `a ${type}`;
}

function unescapePointer(s: string): string | number {
  const t = s.replace(/~1/g, '/').replace(/~0/g, '~');
  return /^[0-9]+$/.test(t) ? Number(t) : t;
}

/** `spec.steps[0].run` for people. */
export function fieldPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

function schemaAt(root: JsonSchema, schemaPath: string): unknown {
  let node: unknown = root;
  for (const seg of schemaPath.replace(/^#\/?/, '').split('/')) {
    if (seg === '') continue;
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}
