// The execution controller: the Runtime and Skill controllers, and the runner the rest of
// Caduceus uses to run work — runSkill (the skill engine) and exec (one shell process in
// a fresh workspace, locally, in Docker or as a Swarm job per the Runtime and the
// request's isolation, on the engine the Runtime names).

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { SwarmBackend } from './swarm-backend.js';
import { Engines } from './docker-engine.js';
import type { ControllerDeps, ExecRequest, ExecResult, Registration, RunOptions } from '../../reconciler/types.js';
import { RunStore } from '../../reconciler/state/runs.js';
import { errorMessage } from '../../reconciler/errors.js';
import { redact } from '../../reconciler/secrets.js';
import { WorkSlots } from '../../reconciler/work-slots.js';
import { LocalBackend } from './local-backend.js';
import { ConfigView } from './config-view.js';
import { RunUsageStore } from '../../reconciler/state/run-usage.js';
import { DockerBackend } from './docker-backend.js';
import { SkillEngine } from './skill-engine.js';
import { effectiveRuntime } from '../../reconciler/runtime-defaults.js';
import { effectiveIsolation, layerIsolation } from './runtime-config.js';
import { createWorkspace, removeWorkspace, shareWorkspaceWith, sweepWorkspaces } from '../../reconciler/workspace.js';
import { createRuntimeController } from './runtime-controller.js';
import { localContainment } from './containment.js';
import { createSkillController } from './skill-controller.js';
import { executionMetrics } from './metrics.js';
import type { Backend } from './backend.js';

export function register(deps: ControllerDeps): Registration {
  const log = deps.log.child({ component: 'execution' });
  const runtime = (): ReturnType<typeof effectiveRuntime> => effectiveRuntime(deps.snapshot());
  const local = new LocalBackend({
    envAllowlist: () => runtime().execution.envAllowlist,
    configDir: deps.configDir,
  });
  // dockerode only connects on the first call, so constructing it costs nothing.
  const engines = new Engines({ baseDir: deps.configDir });
  const engine = (): ReturnType<Engines['get']> => engines.get(runtime().execution.docker);
  const instanceId = deps.instanceId ?? deps.store.owner;
  const where = (): string => engines.describe(runtime().execution.docker);
  // The sandbox's /config holds the configuration files only (config-view.ts).
  const view = deps.configDir ? new ConfigView(deps.configDir, deps.stateDir) : undefined;
  const docker = new DockerBackend({
    log,
    instanceId,
    docker: engine,
    configMount: view ? () => view.dirFor(deps.snapshot().revision) : undefined,
    where,
  });
  // The Swarm backend (tar-fs and its streams, for the config archives) loads with the first
  // Swarm job, swarm-mode check or collection, not when `up` registers this controller.
  let swarmBackend: Promise<SwarmBackend> | undefined;
  const swarm = (): Promise<SwarmBackend> =>
    (swarmBackend ??= import('./swarm-backend.js').then(
      ({ SwarmBackend }) => new SwarmBackend({ docker: engine, instanceId, log, where }),
    ));
  const metrics = executionMetrics(deps.metrics);
  const backends = {
    local: measured('local', local, metrics),
    docker: measured('docker', docker, metrics),
    swarm: measured('swarm', { run: async (spec, iso) => (await swarm()).run(spec, iso) }, metrics),
  };
  const skills = new SkillEngine({
    snapshot: deps.snapshot,
    runs: new RunStore(deps.store),
    usage: new RunUsageStore(deps.store),
    stateDir: deps.stateDir,
    backends,
    log,
  });

  sweepWorkspaces(deps.stateDir);
  // After the first apply: the collection loads dockerode, which readiness does not need.
  void (deps.started ?? Promise.resolve()).then(swarm).then(
    (s) => collectLeftovers([docker, s], log),
    (err: unknown) => log.warn('container GC not started', { error: errorMessage(err) }),
  );
  // The probe of how local steps are contained runs while the first revision is read.
  void localContainment();

  // The one limit on work in flight, whoever asks (see reconciler/work-slots.ts).
  const slots = new WorkSlots(() => runtime().concurrency);
  metrics.observeSlots(() => slots.inFlight);

  const exec = async (req: ExecRequest, opts: RunOptions): Promise<ExecResult> =>
    slots.run('a shell process', opts.signal, () => execNow(req, opts));

  const execNow = async (req: ExecRequest, opts: RunOptions): Promise<ExecResult> => {
    const rt = runtime();
    const iso = effectiveIsolation(rt, layerIsolation(opts.isolation, req.isolation));
    const runId = randomUUID();
    // The caller's workspace (the agent's) stays theirs: made and removed by them.
    const workspace = opts.workspace ?? createWorkspace(deps.stateDir, runId);
    let result: ExecResult | undefined;
    try {
      if (iso.mode !== 'local') shareWorkspaceWith(workspace, iso.user);
      const onProgress = opts.onProgress;
      result = await backends[iso.mode].run(
        {
          runId,
          command: req.command,
          ...(req.shell !== undefined ? { shell: req.shell } : {}),
          env: req.env ?? {},
          workspace,
          timeoutMs: req.timeoutMs,
          signal: opts.signal,
          outputLimitBytes: rt.execution.outputLimitBytes,
          onLine: onProgress ? (line: string) => onProgress({ state: 'running', message: redact(line) }) : undefined,
        },
        iso,
      );
      return { ...result, output: redact(result.output) };
    } finally {
      // Failed runs keep their workspace for inspection (swept after a day).
      if (!opts.workspace && (result?.status === 'succeeded' || result === undefined)) removeWorkspace(workspace);
    }
  };

  return {
    controllers: [createRuntimeController(() => docker, swarm), createSkillController(() => docker)],
    runner: {
      runSkill: async (name, params, opts) => {
        const r = await slots.run(`skill ${name}`, opts.signal, () => skills.run(name, params, opts));
        metrics.skillRuns.inc({ skill: r.skill, status: r.status });
        return r;
      },
      exec,
    },
    stop: async () => {
      await Promise.all([docker.stop(), swarmBackend?.then((s) => s.stop())]);
    },
  };
}

/**
 * Start-up GC of the containers and Swarm jobs a crashed run of this instance left
 * behind, when an engine is there to ask. Registration happens on the leader only, so on
 * PostgreSQL this runs when a replica takes over from one that died.
 */
function collectLeftovers(backends: Array<DockerBackend | SwarmBackend>, log: ControllerDeps['log']): void {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return;
  for (const b of backends) {
    b.gc().then(
      (n) => n > 0 && log.info('collected leftover containers or jobs', { removed: n }),
      (err: unknown) => log.debug('container GC skipped', { error: errorMessage(err) }),
    );
  }
}

/** Counts every process a backend runs, whoever asked for it (exec or a skill step). */
function measured(
  mode: 'local' | 'docker' | 'swarm',
  backend: Backend,
  m: ReturnType<typeof executionMetrics>,
): Backend {
  return {
    run: async (spec, iso) => {
      try {
        const r = await backend.run(spec, iso);
        m.processes.inc({ mode, status: r.status });
        m.processSeconds.observe({ mode }, r.durationMs / 1000);
        return r;
      } catch (err) {
        m.processes.inc({ mode, status: 'error' });
        throw err;
      }
    },
  };
}
