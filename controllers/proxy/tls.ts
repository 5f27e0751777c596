// TLS material for the listener: cert and key files resolved against the configuration
// directory, with a fingerprint so a reconcile can tell when the files changed and reload
// them into the running server (setSecureContext) without a restart.

import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { CaduceusError } from '../../reconciler/errors.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  fingerprint: string;
}

export function readTls(files: { cert: string; key: string }, baseDir: string | undefined): TlsMaterial {
  const read = (what: 'cert' | 'key'): Buffer => {
    const p = isAbsolute(files[what]) ? files[what] : resolve(baseDir ?? process.cwd(), files[what]);
    try {
      return readFileSync(p);
    } catch (err) {
      throw new CaduceusError(
        'TLSFileUnreadable',
        `cannot read tls.${what} ${files[what]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        {
          field: `spec.tls.${what}`,
          hint: 'paths are relative to the configuration directory; create the file or fix the path',
        },
      );
    }
  };
  const cert = read('cert');
  const key = read('key');
  return { cert, key, fingerprint: createHash('sha256').update(cert).update('\0').update(key).digest('hex') };
}
