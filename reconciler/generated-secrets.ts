// Keys Caduceus makes for itself when a resource asks for one by name
// (`valueFrom: {generated: NAME}`): created once with 192 random bits in
// <state-dir>/secrets/NAME (directory 0700, file 0600), then read from there, so a restart
// keeps the key clients already use. The value is registered for redaction like any secret.

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaduceusError } from './errors.js';
import { registerSecret } from './secrets.js';

export interface GeneratedSecret {
  value: string;
  /** Absolute path of the file that holds it. */
  file: string;
  /** True when this call created it. */
  created: boolean;
}

export function generatedSecretFile(stateDir: string, name: string): string {
  return join(stateDir, 'secrets', name);
}

export function ensureGeneratedSecret(stateDir: string, name: string): GeneratedSecret {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
    throw new CaduceusError('SecretUnset', `generated key name ${JSON.stringify(name)} is not a DNS label`);
  const dir = join(stateDir, 'secrets');
  const file = generatedSecretFile(stateDir, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  let created = false;
  try {
    // `wx`: never overwrite a key that exists (a second process, or one written by hand).
    writeFileSync(file, `sk-caduceus-${randomBytes(24).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const value = readFileSync(file, 'utf8').trim();
  if (value === '')
    throw new CaduceusError('SecretUnset', `generated key file ${file} is empty`, {
      hint: `delete ${file} and a new key is generated`,
    });
  registerSecret(value);
  return { value, file, created };
}
