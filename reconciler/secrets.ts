// Resolves secret references (`valueFrom: {env}` or `{file}`) at the moment of use and
// remembers every resolved value so logs, status and errors can redact it.

import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { CaduceusError } from './errors.js';
import type { KeyRef, SecretRef } from './specs.js';

const known = new Set<string>();

export interface SecretOptions {
  env?: NodeJS.ProcessEnv;
  /** Directory relative file references resolve against (default: process.cwd()). */
  baseDir?: string;
}

/** Describes the reference without its value, for messages. */
export function describeRef(ref: KeyRef): string {
  const v = ref.valueFrom;
  return 'env' in v ? `env ${v.env}` : 'file' in v ? `file ${v.file}` : `generated ${v.generated}`;
}

/** Remembers a secret value that did not come through resolveSecret, so it is redacted too. */
export function registerSecret(value: string): void {
  if (value.length >= 4) known.add(value);
}

/** Returns the secret's value; throws SecretUnset when the variable or file is missing or empty. */
export function resolveSecret(ref: SecretRef, opts: SecretOptions = {}): string {
  let value: string | undefined;
  if ('env' in ref.valueFrom) {
    value = (opts.env ?? process.env)[ref.valueFrom.env];
  } else {
    const p = isAbsolute(ref.valueFrom.file)
      ? ref.valueFrom.file
      : resolve(opts.baseDir ?? process.cwd(), ref.valueFrom.file);
    try {
      value = readFileSync(p, 'utf8').replace(/\r?\n$/, '');
    } catch {
      value = undefined;
    }
  }
  if (value === undefined || value.trim() === '') {
    throw new CaduceusError('SecretUnset', `secret reference ${describeRef(ref)} is unset or empty`, {
      hint: 'env' in ref.valueFrom ? `export ${ref.valueFrom.env}=…` : `write the secret to ${ref.valueFrom.file}`,
    });
  }
  rememberSecret(value);
  return value;
}

/**
 * Adds a value this process holds as a secret to what redact() hides: one not read
 * through a reference (the git webhook secret) is registered here by whoever reads it.
 */
export function rememberSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= 4) known.add(value);
}

/**
 * Resolves every secret reference in these specs, so that each value is redacted from the
 * start, also where no controller resolves it (`caduceus run`, an LLM key the agent reads
 * later, a variable also on a step's allow-list). An unset one is skipped: its controller
 * reports it.
 */
export function rememberSecretsIn(specs: Iterable<unknown>, opts: SecretOptions = {}): void {
  const visit = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x);
      return;
    }
    const o = v as Record<string, unknown>;
    const from = o.valueFrom as Record<string, unknown> | undefined;
    if (from && typeof from === 'object' && (typeof from.env === 'string' || typeof from.file === 'string')) {
      try {
        resolveSecret(o as SecretRef, opts);
      } catch {
        // Unset: nothing to hide yet.
      }
      return;
    }
    for (const x of Object.values(o)) visit(x);
  };
  for (const spec of specs) visit(spec);
}

/** Credentials in URLs: `user:password@` and tokens in the query string. */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi;
const TOKEN_PARAMS = [
  'private_token',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'api[_-]?key',
  'apikey',
  'key',
  'secret',
  'client_secret',
  'password',
  'passwd',
  'sig',
  'signature',
  'auth',
  'code',
];
const QUERY_TOKEN = new RegExp(`([?&;](?:${TOKEN_PARAMS.join('|')})=)[^&#\\s"'<>]+`, 'gi');

/** Same as redact(); kept for callers that name what they redact. */
export function redactUrl(text: string): string {
  return redact(text);
}

/**
 * Replaces every secret value resolved so far with `[REDACTED]`, credentials in URLs
 * (`user:password@`) with `***@`, and tokens in URL query strings (`?access_token=`,
 * `?private_token=`, `?token=`, …) with `***`.
 */
export function redact(text: string): string {
  let out = text;
  if (out.includes('://')) out = out.replace(URL_USERINFO, '$1***@');
  if (out.includes('=')) out = out.replace(QUERY_TOKEN, '$1***');
  for (const v of known) if (out.includes(v)) out = out.split(v).join('[REDACTED]');
  return out;
}
