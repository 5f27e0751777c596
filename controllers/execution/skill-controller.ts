// The Skill controller: a skill is usable once applied; it is reported not Ready when it
// calls a skill that does not exist or, when it runs in Docker, its image is missing.
// Skills hold no running state, so pruning has nothing to do. The loop turns a change of
// Ready into an event.

import type { Controller, Observed, ReconcileContext, Resource } from '../../reconciler/types.js';
import type { SkillSpec } from '../../reconciler/specs.js';
import { findSkill } from '../../reconciler/skill-names.js';
import { effectiveRuntime } from '../../reconciler/runtime-defaults.js';
import { effectiveIsolation } from './runtime-config.js';
import { checkImage } from './runtime-controller.js';
import type { DockerBackend } from './docker-backend.js';

export function createSkillController(docker: () => DockerBackend): Controller {
  return {
    kind: 'Skill',
    async reconcile(ctx: ReconcileContext, desired: Resource | undefined, _observed: Observed) {
      if (!desired) return;
      const spec = desired.spec as SkillSpec;
      const iso = effectiveIsolation(effectiveRuntime(ctx.snapshot), spec.isolation);
      ctx.setObserved({ version: spec.version, mode: iso.mode, steps: spec.steps.length, aliases: spec.aliases ?? [] });

      const unknown = spec.steps.flatMap((s) =>
        s.skill && !findSkill(ctx.snapshot, s.skill.name) ? [s.skill.name] : [],
      );
      if (unknown.length > 0) {
        ctx.setCondition('Ready', 'False', 'UnknownSkill', `calls skills that do not exist: ${unknown.join(', ')}`);
        return;
      }
      if (iso.mode !== 'local') {
        const problem = await checkImage(docker(), iso.image);
        if (problem) {
          ctx.setCondition('Ready', 'False', problem.reason, problem.message);
          return { requeueAfter: 60_000 };
        }
      }
      ctx.setCondition(
        'Ready',
        'True',
        'Ready',
        `version ${spec.version}, ${spec.steps.length} steps, runs ${where(iso.mode, iso.image)}`,
      );
    },
  };
}

function where(mode: string, image: string): string {
  if (mode === 'local') return 'locally';
  return mode === 'swarm' ? `in ${image} as swarm jobs` : `in ${image}`;
}
