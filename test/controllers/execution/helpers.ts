// Builders for the execution tests: resources and snapshots as the loader would produce
// them, a real state store in a temp dir, the execution registration over them, and a
// ReconcileContext that records what a controller reports.

import { rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Registry } from 'prom-client';
import type {
  ControllerDeps,
  Kind,
  Resource,
  Snapshot,
  ReconcileContext,
  ConditionStatus,
  Runner,
  Registration,
} from '../../../reconciler/types.js';
import { keyOf } from '../../../reconciler/types.js';
import type { SkillSpec, RuntimeSpec } from '../../../reconciler/specs.js';
import { StateStore } from '../../../reconciler/state/store.js';
import { silentLogger } from '../../../reconciler/log.js';
import { register } from '../../../controllers/execution/index.js';
import { defaultRuntime } from '../../../reconciler/runtime-defaults.js';
import { CoreStore } from '../../../reconciler/state/core-store.js';
import { tempDir } from '../../helpers/temp.js';

export function resource<K extends Kind>(kind: K, name: string, spec: Resource<K>['spec']): Resource<K> {
  const body = { apiVersion: 'caduceus.dev/v1' as const, kind, metadata: { name }, spec };
  return {
    ...body,
    source: { file: `${name}.yaml`, line: 1, column: 1 },
    hash: createHash('sha256').update(JSON.stringify(body)).digest('hex'),
  };
}

export function skill(name: string, spec: Partial<SkillSpec> & Pick<SkillSpec, 'steps'>): Resource<'Skill'> {
  return resource('Skill', name, {
    version: '1.0.0',
    description: name,
    params: [],
    timeout: '10m',
    aliases: [],
    ...spec,
  });
}

export function runtime(
  spec: {
    execution?: Partial<RuntimeSpec['execution']>;
    isolation?: Partial<RuntimeSpec['isolation']>;
    prerequisites?: Partial<RuntimeSpec['prerequisites']>;
  } = {},
): Resource<'Runtime'> {
  return resource('Runtime', 'default', {
    ...defaultRuntime(),
    execution: { ...defaultRuntime().execution, ...spec.execution },
    isolation: { ...defaultRuntime().isolation, ...spec.isolation },
    prerequisites: { ...defaultRuntime().prerequisites, ...spec.prerequisites },
  });
}

export function snapshot(resources: Resource[], revision = 'rev-1'): Snapshot {
  return { revision, resources: new Map(resources.map((r) => [keyOf(r), r])) };
}

export interface Harness {
  deps: ControllerDeps;
  reg: Registration;
  runner: Pick<Runner, 'runSkill' | 'exec'>;
  store: StateStore;
  stateDir: string;
  setSnapshot(resources: Resource[]): void;
  close(): Promise<void>;
}

export function harness(resources: Resource[] = [], opts: { configDir?: string; instanceId?: string } = {}): Harness {
  const stateDir = tempDir('caduceus-exec-');
  const store = new StateStore({ stateDir });
  let snap = snapshot(resources);
  const deps: ControllerDeps = {
    store,
    events: new CoreStore(store),
    log: silentLogger,
    stateDir,
    snapshot: () => snap,
    runner: undefined as unknown as Runner, // the execution registration provides the runner itself
    metrics: new Registry(),
    configDir: opts.configDir,
    instanceId: opts.instanceId,
  };
  const reg = register(deps);
  const r = reg.runner as Runner;
  return {
    deps,
    reg,
    runner: { runSkill: r.runSkill, exec: r.exec },
    store,
    stateDir,
    setSnapshot: (resources) => {
      snap = snapshot(resources, `rev-${Math.random().toString(16).slice(2, 8)}`);
    },
    close: async () => {
      await reg.stop?.();
      store.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface Recorded {
  ctx: ReconcileContext;
  conditions: Array<{ type: string; status: ConditionStatus; reason: string; message: string }>;
  events: Array<{ type: string; reason: string; message: string }>;
  observed: Record<string, unknown>;
  ready(): { status: ConditionStatus; reason: string; message: string } | undefined;
}

export function recordingContext(key: string, snap: Snapshot): Recorded {
  const rec: Omit<Recorded, 'ctx' | 'ready'> = { conditions: [], events: [], observed: {} };
  const ctx: ReconcileContext = {
    key,
    revision: snap.revision,
    snapshot: snap,
    signal: new AbortController().signal,
    log: silentLogger,
    setCondition: (type, status, reason, message) => rec.conditions.push({ type, status, reason, message }),
    setObserved: (f) => Object.assign(rec.observed, f),
    event: (type, reason, message) => rec.events.push({ type, reason, message }),
  };
  return { ...rec, ctx, ready: () => [...rec.conditions].reverse().find((c) => c.type === 'Ready') };
}

export const cli = { trigger: { source: 'cli', actor: 'tester' } };
