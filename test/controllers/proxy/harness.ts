// Builds a proxy under test the way `up` does: real resources loaded from YAML files by
// the loader, the real execution registration composed with the proxy's, a real state
// store, and a reconcile context that records conditions, observed facts and events.

import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { describeFinding } from '../../../reconciler/finding-format.js';
import { loadDirectory } from '../../../reconciler/loader.js';
import { compose, lateBoundRunner, type Composition, type Register } from '../../../app/compose.js';
import { StateStore } from '../../../reconciler/state/store.js';
import { silentLogger } from '../../../reconciler/log.js';
import { register as executionRegister } from '../../../controllers/execution/index.js';
import { register as proxyRegister, type ProxyController } from '../../../controllers/proxy/index.js';
import type {
  ConditionStatus,
  ControllerDeps,
  ReconcileContext,
  Resource,
  Snapshot,
  TerminalOutcome,
} from '../../../reconciler/types.js';
import { keyOf } from '../../../reconciler/types.js';
import { skillYaml as gitSkillYaml, writeFiles } from '../../helpers/git.js';
import { CoreStore } from '../../../reconciler/state/core-store.js';
import { tempDir } from '../../helpers/temp.js';

export interface Recorded {
  conditions: Map<string, { status: ConditionStatus; reason: string; message: string }>;
  observed: Record<string, unknown>;
  events: Array<{ type: string; reason: string; message: string }>;
}

export interface Harness {
  dir: string;
  deps: ControllerDeps;
  metrics: Registry;
  proxy: ProxyController;
  composition: Composition;
  snapshot: Snapshot;
  /** Writes the files, loads the directory with the real loader, makes it the snapshot. */
  load(files: Record<string, string>): Promise<void>;
  /** Reconciles Proxy/<name> once (undefined resource = prune) and returns what it reported. */
  reconcile(
    name: string,
  ): Promise<Recorded & { requeueAfter: number | undefined; terminal: TerminalOutcome | undefined }>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function skillYaml(name: string, run: string, params = ''): string {
  return gitSkillYaml(name, run, { description: `Skill ${name}`, extra: params });
}

export function proxyYaml(name: string, spec: string): string {
  return `apiVersion: caduceus.dev/v1
kind: Proxy
metadata:
  name: ${name}
spec:
${spec
  .trim()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;
}

export async function harness(
  opts: {
    log?: import('../../../reconciler/types.js').Logger;
    /** Registrations composed after execution and the proxy (the agent, for caduceus/agent). */
    also?: readonly Register[];
  } = {},
): Promise<Harness> {
  const dir = tempDir('caduceus-proxy-');
  const stateDir = tempDir('caduceus-proxy-state-');
  const metrics = new Registry();
  const { runner, provide } = lateBoundRunner();
  const h = {
    dir,
    metrics,
    snapshot: { revision: 'r0', resources: new Map() } as Snapshot,
  } as Harness;
  const store = new StateStore({ stateDir });
  const deps: ControllerDeps = {
    store,
    events: new CoreStore(store),
    log: opts.log ?? silentLogger,
    stateDir,
    snapshot: () => h.snapshot,
    runner,
    metrics,
    configDir: dir,
  };
  const composition = compose(deps, provide, [
    executionRegister,
    (d) => proxyRegister(d, { resyncMs: 30_000, drainCapMs: 10_000, portRetryMs: 200 }),
    ...(opts.also ?? []),
  ]);
  h.deps = deps;
  h.composition = composition;
  h.proxy = composition.controllers.find((c) => c.kind === 'Proxy') as ProxyController;
  let rev = 0;
  h.load = async (files) => {
    writeFiles(dir, files);
    const { resources, findings } = await loadDirectory(dir);
    const errors = findings.filter((f) => f.severity === 'error');
    if (errors.length > 0) throw new Error(`test configuration rejected: ${errors.map(describeFinding).join('; ')}`);
    const map = new Map<string, Resource>();
    for (const r of resources) map.set(keyOf(r), r);
    h.snapshot = { revision: `r${++rev}`, resources: map };
  };
  h.reconcile = async (name) => {
    const rec: Recorded = { conditions: new Map(), observed: {}, events: [] };
    const key = `Proxy/${name}`;
    const ctx: ReconcileContext = {
      key,
      revision: h.snapshot.revision,
      snapshot: h.snapshot,
      signal: new AbortController().signal,
      log: silentLogger,
      setCondition: (type, status, reason, message) => rec.conditions.set(type, { status, reason, message }),
      setObserved: (fields) => Object.assign(rec.observed, fields),
      event: (type, reason, message) => rec.events.push({ type, reason, message }),
    };
    const result = await h.proxy.reconcile(ctx, h.snapshot.resources.get(key), { status: undefined });
    return { ...rec, requeueAfter: result ? result.requeueAfter : undefined, terminal: result?.terminal };
  };
  h.stop = async () => {
    await composition.stop();
    deps.store.close();
  };
  return h;
}
