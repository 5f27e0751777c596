// The execution controller: the Runtime and Skill controllers, and the runner the rest of
// Caduceus uses to run work — runSkill (the skill engine) and exec (one shell process in
// a fresh workspace, locally or in Docker per the Runtime and the request's isolation).

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { ControllerDeps, ExecRequest, ExecResult, Registration, RunOptions } from '../../reconciler/types.js';
import { RunStore } from '../../reconciler/state/runs.js';
import { errorMessage } from '../../reconciler/errors.js';
import { redact } from '../../reconciler/secrets.js';
import { LocalBackend } from './local-backend.js';
import { DockerBackend } from './docker-backend.js';
import { SkillEngine } from './skill-engine.js';
import { effectiveRuntime } from '../../reconciler/runtime-defaults.js';
import { effectiveIsolation, layerIsolation } from './runtime-config.js';
import { createWorkspace, removeWorkspace, shareWorkspaceWith, sweepWorkspaces } from '../../reconciler/workspace.js';
import { createRuntimeController } from './runtime-controller.js';
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
  const docker = new DockerBackend({ log, configDir: deps.configDir });
  const metrics = executionMetrics(deps.metrics);
  const backends = { local: measured('local', local, metrics), docker: measured('docker', docker, metrics) };
  const engine = new SkillEngine({
    snapshot: deps.snapshot,
    runs: new RunStore(deps.store),
    stateDir: deps.stateDir,
    backends,
    log,
  });

  sweepWorkspaces(deps.stateDir);
  collectLeftovers(docker, log);

  const exec = async (req: ExecRequest, opts: RunOptions): Promise<ExecResult> => {
    const rt = runtime();
    const iso = effectiveIsolation(rt, layerIsolation(opts.isolation, req.isolation));
    const runId = randomUUID();
    // The caller's workspace (the agent's) stays theirs: made and removed by them.
    const workspace = opts.workspace ?? createWorkspace(deps.stateDir, runId);
    let result: ExecResult | undefined;
    try {
      if (iso.mode === 'docker') shareWorkspaceWith(workspace, iso.user);
      const onProgress = opts.onProgress;
      result = await backends[iso.mode].run(
        {
          runId,
          command: req.command,
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
    controllers: [createRuntimeController(() => docker), createSkillController(() => docker)],
    runner: {
      runSkill: async (name, params, opts) => {
        const r = await engine.run(name, params, opts);
        metrics.skillRuns.inc({ skill: r.skill, status: r.status });
        return r;
      },
      exec,
    },
    stop: () => docker.stop(),
  };
}

/** Start-up GC of containers a crashed run left behind, when an engine is there to ask. */
function collectLeftovers(docker: DockerBackend, log: ControllerDeps['log']): void {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return;
  docker.gc().then(
    (n) => n > 0 && log.info('collected leftover containers', { removed: n }),
    (err: unknown) => log.debug('container GC skipped', { error: errorMessage(err) }),
  );
}

/** Counts every process a backend runs, whoever asked for it (exec or a skill step). */
function measured(mode: 'local' | 'docker', backend: Backend, m: ReturnType<typeof executionMetrics>): Backend {
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
