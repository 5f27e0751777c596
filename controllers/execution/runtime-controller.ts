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
        const key = missing.join(' ');
        const lastFail = failedInstalls.get(key);
        if (lastFail === undefined || Date.now() - lastFail > INSTALL_RETRY_MS) {
          ctx.event('Normal', 'InstallingPrerequisites', `apt-get install -y ${key}`);
          const res = await aptInstall(missing, ctx.signal);
          missing = await missingPackages(spec.prerequisites.packages);
          if (res.ok && missing.length === 0) {
            failedInstalls.delete(key);
            ctx.event('Normal', 'PrerequisitesInstalled', `installed ${key}`);
          } else {
            failedInstalls.set(key, Date.now());
            ctx.event(
              'Warning',
              'PrerequisiteInstallFailed',
              `apt-get install ${key} failed: ${lastLines(res.output)}`,
            );
          }
          ctx.setObserved({
            lastInstall: {
              packages: key,
              ok: res.ok && missing.length === 0,
              at: new Date().toISOString(),
              output: lastLines(res.output),
            },
          });
        }
      }
      ctx.setObserved({ missingPackages: missing });
      if (missing.length > 0) {
        const how = spec.prerequisites.autoInstall
          ? 'automatic install failed; see events'
          : 'install them or set prerequisites.autoInstall: true';
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
