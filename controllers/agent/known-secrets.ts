// Before a run, every secret reference of the applied revision is resolved once (best
// effort), so the redactor knows each value even in a process that never used it itself
// (`caduceus ask` does not start the proxy or the gateway): a tool that prints a key file
// or a token still cannot hand its value to the model.

import type { Snapshot } from '../../reconciler/types.js';
import { rememberSecretsIn } from '../../reconciler/secrets.js';

const learned = new WeakSet<Snapshot>();

export function learnSecrets(snap: Snapshot, configDir: string | undefined): void {
  if (learned.has(snap)) return;
  learned.add(snap);
  rememberSecretsIn(
    [...snap.resources.values()].map((r) => r.spec),
    configDir ? { baseDir: configDir } : {},
  );
}
