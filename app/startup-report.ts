// What `caduceus up` tells a person once the first revision has been reconciled: one line
// per resource that is not Ready, with the command that fixes it (an unset secret, a
// missing package or image, a taken port), and for a Proxy that serves with a key
// Caduceus generated, how to use that key, the way Jupyter prints its token.

import type { Logger, ResourceStatus, Snapshot } from '../reconciler/types.js';
import type { CoreStore } from '../reconciler/state/core-store.js';
import { REASONS } from '../reconciler/reasons.js';

/**
 * Waits (bounded) until every resource of the snapshot has reported a Ready condition.
 * Reading every status costs ~15 µs a resource (10,000 rows, their conditions parsed):
 * polled every 100 ms while the first revision applies, that took the main thread from
 * the apply itself, so the statuses are read only once `settled` (the reconciler has no
 * work pending: every resource of the revision has been reconciled and its status
 * written) or the deadline passed.
 */
export async function waitForFirstStatus(
  core: CoreStore,
  snapshot: () => Snapshot,
  stopped: () => boolean = () => false,
  timeoutMs = 15_000,
  settled: () => boolean = () => true,
): Promise<ResourceStatus[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (stopped()) return [];
    const late = Date.now() > deadline;
    if (settled() || late) {
      const keys = [...snapshot().resources.keys()];
      const statuses = core.allStatus();
      const reported = new Set(statuses.filter((s) => s.conditions.some((c) => c.type === 'Ready')).map((s) => s.key));
      if ((keys.length > 0 && keys.every((k) => reported.has(k))) || late) return statuses;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The command (or edit) that fixes a resource that is not Ready, from its reason and message. */
export function fixFor(reason: string, message: string, file: string | undefined): string {
  const where = file ? ` in ${file}` : '';
  switch (reason) {
    case 'SecretUnset': {
      const env = /\benv ([A-Za-z_][A-Za-z0-9_]*)/.exec(message)?.[1];
      if (env) return `export ${env}=<the secret> and restart caduceus up`;
      const f = /\bfile (\S+?)[,;)]?(?:\s|$)/.exec(message)?.[1];
      return f ? `write the secret to ${f}` : `set the secret the resource references${where}`;
    }
    case 'MissingPrerequisite': {
      const pkgs = /missing packages: ([^(]+)/.exec(message)?.[1]?.trim().replace(/,\s*/g, ' ');
      return pkgs
        ? `apt-get install -y ${pkgs} (or prerequisites.autoInstall: true${where})`
        : 'install the missing packages';
    }
    case 'ImageNotFound':
      return 'caduceus sandbox build';
    case 'DockerUnavailable':
      return 'start Docker (or set DOCKER_HOST), or use execution.mode: local';
    case 'PortInUse':
      return `free the port, or change spec.port${where}`;
    case 'PublicBindWithoutTLS':
      return `set spec.tls (cert and key), or allowPublicBind: true${where}`;
    case 'TLSFileUnreadable':
      return `fix spec.tls paths${where}`;
    default: {
      const info = (REASONS as Record<string, { action?: string }>)[reason];
      return info?.action ?? 'caduceus status; caduceus events';
    }
  }
}

/** Logs the report: warnings for what is not Ready, and how to use generated proxy keys. */
export function reportStartup(
  statuses: readonly ResourceStatus[],
  snapshot: Snapshot,
  log: Logger,
  write: ((line: string) => void) | undefined,
  stateDirArg = '.caduceus',
): void {
  const notReady = statuses.filter((s) => s.conditions.find((c) => c.type === 'Ready')?.status !== 'True');
  if (notReady.length > 0) log.warn(`${notReady.length} resource(s) not ready; each with what fixes it`);
  for (const s of notReady) {
    const ready = s.conditions.find((c) => c.type === 'Ready');
    const file = snapshot.resources.get(s.key)?.source.file;
    log.warn(`${s.key} is not ready`, {
      reason: ready?.reason ?? 'Unknown',
      fix: fixFor(ready?.reason ?? '', ready?.message ?? '', file),
      message: ready?.message ?? 'no status yet',
    });
  }
  for (const s of statuses) {
    const keys = s.observed.generatedKeys as Array<{ name: string; file: string }> | undefined;
    const address = s.observed.address;
    if (s.kind !== 'Proxy' || !keys?.length || typeof address !== 'string') continue;
    const file = keys[0]?.file as string;
    log.info(`${s.key} serves ${address}/v1 with a generated key`, { keyFile: file });
    // Plain lines for a person at a terminal (text logs only): the key itself is never printed.
    write?.(`    export OPENAI_BASE_URL=${address}/v1 OPENAI_API_KEY="$(cat ${file})"`);
    const dirArg = stateDirArg === '.caduceus' ? '' : ` --state-dir ${stateDirArg}`;
    write?.(`    caduceus proxy test --endpoint /v1/chat/completions${dirArg}`);
  }
}
