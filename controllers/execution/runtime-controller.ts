// The Runtime controller: checks what the Runtime needs on this host — its prerequisite
// packages (installed with apt-get when autoInstall says so) and, in docker mode, a
// Docker engine holding the sandbox image (in swarm mode, a swarm manager holding it) —
// and reports it as the Ready condition.
// A missing package or image is a state to report, not an error to retry; the loop turns
// a change of Ready into an event.

import type { Controller, Observed, Reason, ReconcileContext, Resource } from '../../reconciler/types.js';
import { errorMessage, CaduceusError } from '../../reconciler/errors.js';
import type { RuntimeSpec } from '../../reconciler/specs.js';
import { runtimeWithDefaults } from '../../reconciler/runtime-defaults.js';
import { effectiveIsolation } from './runtime-config.js';
import { aptInstall, missingPackages } from './prerequisites.js';
import type { DockerBackend } from './docker-backend.js';
import type { SwarmBackend } from './swarm-backend.js';

const RECHECK_MS = 60_000;
/** A failed automatic install is not retried sooner than this. */
const INSTALL_RETRY_MS = 10 * 60_000;

/** Checks the image of a docker-mode resource; returns the condition to report when it is not usable. */
export async function checkImage(
  docker: DockerBackend,
  image: string,
): Promise<{ reason: Extract<Reason, 'ImageNotFound' | 'DockerUnavailable'>; message: string } | undefined> {
  try {
    if (await docker.imageExists(image)) return undefined;
    return { reason: 'ImageNotFound', message: `Docker image ${image} is missing: run \`caduceus sandbox build\`` };
  } catch (err) {
    // dockerError() turns what the engine says into ImageNotFound or DockerUnavailable; anything else
    // it passes through is an engine that does not answer as expected.
    const reason = err instanceof CaduceusError && err.code === 'ImageNotFound' ? 'ImageNotFound' : 'DockerUnavailable';
    return { reason, message: errorMessage(err) };
  }
}

/** In swarm mode the engine must be a manager of an active swarm. */
async function checkSwarm(
  swarm: SwarmBackend,
): Promise<{ reason: Extract<Reason, 'SwarmInactive' | 'DockerUnavailable'>; message: string } | undefined> {
  try {
    if (await swarm.active()) return undefined;
    return {
      reason: 'SwarmInactive',
      message: 'execution.mode is swarm but the engine is not a swarm manager: run `docker swarm init` there',
    };
  } catch (err) {
    return { reason: 'DockerUnavailable', message: errorMessage(err) };
  }
}

export function createRuntimeController(docker: () => DockerBackend, swarm?: SwarmBackend): Controller {
  const failedInstalls = new Map<string, number>();

  return {
    kind: 'Runtime',
    async reconcile(ctx: ReconcileContext, desired: Resource | undefined, _observed: Observed) {
      // Without a Runtime the built-in defaults apply; there is nothing to tear down.
      if (!desired) return;
      const spec = runtimeWithDefaults(desired.spec as RuntimeSpec);
      const iso = effectiveIsolation(spec);
      ctx.setObserved({ mode: spec.execution.mode, image: iso.image, network: iso.network });

      let missing = await missingPackages(spec.prerequisites.packages);
      if (missing.length > 0 && spec.prerequisites.autoInstall) {
        // Each package has its own retry clock: one that cannot be installed is not tried
        // again for a while, and does not stop the others from being installed now.
        const due = missing.filter((p) => {
          const lastFail = failedInstalls.get(p);
          return lastFail === undefined || Date.now() - lastFail > INSTALL_RETRY_MS;
        });
        if (due.length > 0) {
          ctx.event('Normal', 'InstallingPrerequisites', `apt-get install -y ${due.join(' ')}`);
          const res = await aptInstall(due, ctx.signal);
          missing = await missingPackages(spec.prerequisites.packages);
          const now = Date.now();
          for (const p of due) if (!missing.includes(p)) failedInstalls.delete(p);
          for (const p of due) if (missing.includes(p)) failedInstalls.set(p, now);
          const installed = due.filter((p) => !missing.includes(p));
          if (installed.length > 0) ctx.event('Normal', 'PrerequisitesInstalled', `installed ${installed.join(', ')}`);
          for (const f of res.failed)
            ctx.event('Warning', 'PrerequisiteInstallFailed', `apt-get install ${f.package} failed: ${f.reason}`);
          const stillMissing = due.filter((p) => missing.includes(p) && !res.failed.some((f) => f.package === p));
          if (stillMissing.length > 0)
            ctx.event(
              'Warning',
              'PrerequisiteInstallFailed',
              `${stillMissing.join(', ')} still missing after apt-get: ${lastLines(res.output)}`,
            );
          ctx.setObserved({
            lastInstall: {
              packages: due.join(' '),
              installed,
              failed: due.filter((p) => missing.includes(p)),
              ok: due.every((p) => !missing.includes(p)),
              at: new Date(now).toISOString(),
              output: lastLines(res.output),
            },
          });
        }
      }
      ctx.setObserved({ missingPackages: missing });
      if (missing.length > 0) {
        const how = spec.prerequisites.autoInstall
          ? 'automatic install failed; see `caduceus events`'
          : `install them (apt-get install ${missing.join(' ')}) or set prerequisites.autoInstall: true`;
        ctx.setCondition('Ready', 'False', 'MissingPrerequisite', `missing packages: ${missing.join(', ')} (${how})`);
        return { requeueAfter: RECHECK_MS };
      }

      if (spec.execution.mode === 'swarm' && swarm) {
        const problem = await checkSwarm(swarm);
        if (problem) {
          ctx.setCondition('Ready', 'False', problem.reason, problem.message);
          return { requeueAfter: RECHECK_MS };
        }
      }
      if (spec.execution.mode !== 'local') {
        const problem = await checkImage(docker(), iso.image);
        if (problem) {
          ctx.setCondition('Ready', 'False', problem.reason, problem.message);
          return { requeueAfter: RECHECK_MS };
        }
      }
      const where =
        spec.execution.mode === 'local'
          ? 'local processes'
          : `${spec.execution.mode === 'swarm' ? 'swarm jobs' : 'docker'} (${iso.image}, network ${iso.network})`;
      ctx.setCondition(
        'Ready',
        'True',
        'Ready',
        `runs work as ${where}; ${spec.prerequisites.packages.length} prerequisites present`,
      );
      return spec.prerequisites.packages.length > 0 || spec.execution.mode !== 'local'
        ? { requeueAfter: 10 * RECHECK_MS }
        : undefined;
    },
  };
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}
