// What `caduceus run` and `caduceus ask` share: the configuration directory loaded into a
// snapshot (findings printed when it is invalid), every controller composed over a state
// directory as `up` does, and Ctrl-C turned into cancellation of the run in progress.

import { userInfo } from 'node:os';
import { Registry } from '../../reconciler/prom-metrics.js';
import type { ControllerDeps, Resource, ResourceKey, Runner, Snapshot } from '../../reconciler/types.js';
import { keyOf } from '../../reconciler/types.js';
import { createLogger } from '../../reconciler/log.js';
import { rememberSecretsIn } from '../../reconciler/secrets.js';
import { formatFinding } from '../../reconciler/finding-format.js';

/** The configuration as a snapshot, or undefined after printing its findings. */
export async function loadSnapshot(dir: string): Promise<Snapshot | undefined> {
  const { loadDirectory } = await import('../../reconciler/loader.js');
  const { resources, findings } = await loadDirectory(dir);
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) {
    for (const f of errors) process.stderr.write(`${formatFinding(f)}\n`);
    process.stderr.write(
      `caduceus: the configuration in ${dir} has ${errors.length} error(s); ` +
        `fix them (see 'caduceus validate') and run again\n`,
    );
    return undefined;
  }
  const map = new Map<ResourceKey, Resource>();
  for (const r of resources) map.set(keyOf(r), r);
  // What the configuration references is secret here too, whether or not a controller reads it.
  rememberSecretsIn(
    resources.map((r) => r.spec),
    { baseDir: dir },
  );
  return { revision: `dir:${dir}`, resources: map };
}

export interface LocalRun {
  runner: Runner;
  /** Aborted by the first SIGINT/SIGTERM; a second one exits at once. */
  signal: AbortSignal;
  interrupted(): boolean;
  close(): Promise<void>;
}

/** Every controller composed over `stateDir` for one run from the terminal. */
export async function localRun(
  snapshot: Snapshot | (() => Snapshot),
  configDir: string,
  stateDir: string,
): Promise<LocalRun> {
  const [{ StateStore, stateUrl }, { CoreStore }, { compose, lateBoundRunner }] = await Promise.all([
    import('../../reconciler/state/store.js'),
    import('../../reconciler/state/core-store.js'),
    import('../compose.js'),
  ]);
  // The run history goes where `caduceus up` keeps it (CADUCEUS_STATE_URL, else the state dir).
  const url = stateUrl(undefined);
  const store = new StateStore({ stateDir, url });
  const { runner, provide } = lateBoundRunner();
  const core = new CoreStore(store);
  const deps: ControllerDeps = {
    store,
    events: core,
    log: createLogger({ level: 'warn' }),
    stateDir,
    // Its containers carry the deployment's id, so a crash of this command is collected too.
    instanceId: core.instanceId(),
    snapshot: typeof snapshot === 'function' ? snapshot : () => snapshot,
    runner,
    metrics: new Registry(),
    configDir,
  };
  const composition = compose(deps, provide);
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) {
      process.stderr.write(`caduceus: ${sig} again, exiting without waiting for clean-up\n`);
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`caduceus: ${sig} received, cancelling the run and cleaning up…\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    runner,
    signal: abort.signal,
    interrupted: () => interrupted,
    close: async () => {
      await composition.stop();
      store.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export function localUser(): string {
  try {
    return process.env.USER ?? userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers).
    return String(process.getuid?.() ?? 'unknown');
  }
}
