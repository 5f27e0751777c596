// Before a run, every secret reference of the applied revision is resolved once (best
// effort), so the redactor knows each value even in a process that never used it itself
// (`caduceus ask` does not start the proxy or the gateway): a tool that prints a key file
// or a token still cannot hand its value to the model.

import type { Snapshot } from '../../reconciler/types.js';
import type { SecretRef } from '../../reconciler/specs.js';
import { resolveSecret } from '../../reconciler/secrets.js';

const learned = new WeakSet<Snapshot>();

export function learnSecrets(snap: Snapshot, configDir: string | undefined): void {
  if (learned.has(snap)) return;
  learned.add(snap);
  for (const r of snap.resources.values()) {
    for (const ref of secretRefs(r.spec)) {
      try {
        resolveSecret(ref, configDir ? { baseDir: configDir } : {});
      } catch {
        // Unset: there is no value to leak.
      }
    }
  }
}

/** Every `{ valueFrom: { env } | { file } }` object in a spec, at any depth. */
function secretRefs(value: unknown, out: SecretRef[] = []): SecretRef[] {
  if (Array.isArray(value)) for (const v of value) secretRefs(v, out);
  else if (value && typeof value === 'object') {
    const from = (value as { valueFrom?: unknown }).valueFrom;
    if (from && typeof from === 'object' && ('env' in from || 'file' in from)) out.push(value as SecretRef);
    else for (const v of Object.values(value)) secretRefs(v, out);
  }
  return out;
}
