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
  if (value.length >= 4) known.add(value);
  return value;
}

/** Replaces `user:password@` in URLs by `***@`, then any known secret value (see redact). */
export function redactUrl(text: string): string {
  return redact(text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@'));
}

/** Replaces every secret value resolved so far with `[REDACTED]`. */
export function redact(text: string): string {
  let out = text;
  for (const v of known) if (out.includes(v)) out = out.split(v).join('[REDACTED]');
  return out;
}
