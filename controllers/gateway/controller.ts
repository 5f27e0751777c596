// Reconciles one GatewayPolicy: compile the whitelist, start each platform whose secrets
// resolve (the others stay stopped and say why), and swap the result in atomically.
// Pruning removes every binding of the policy, so its routes answer 404 at once. Any
// problem leaves the affected platform stopped: the gateway never fails open.

import type {
  Controller,
  ControllerDeps,
  Reason,
  ReconcileContext,
  Registration,
  Resource,
  Snapshot,
} from '../../reconciler/types.js';
import { resourcesOfKind, splitKey } from '../../reconciler/types.js';
import type { GatewayPolicySpec, Platform, SecretRef } from '../../reconciler/specs.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { describeRef, resolveSecret } from '../../reconciler/secrets.js';
import { compilePolicy, PLATFORMS, type CompiledPolicy } from './policy.js';
import { ADAPTERS } from './platforms/index.js';
import type { PlatformAdapter } from './platforms/types.js';
import { ENDPOINT_PREFIX, Gateway, type Binding, type GatewayOptions } from './gateway.js';

export interface PlatformStatus {
  endpoint: string;
  ready: boolean;
  reason?: Reason;
  message?: string;
}

/** The controller for kind GatewayPolicy and the platform routes mounted on the `up` server. */
export function register(deps: ControllerDeps, opts: GatewayOptions = {}): Registration {
  const gw = new Gateway(deps, opts);
  const controller = createController(gw, deps.configDir ? { configDir: deps.configDir } : {});
  return {
    controllers: [controller],
    routes: gw.routes(),
    runner: { deliver: (target, text, o) => gw.post(target, text, o) },
    stop: () => gw.stop(),
  };
}

/** Requeue for policies that lost a platform to another one, so they notice when it frees up. */
const CONFLICT_REQUEUE_MS = 60_000;

export function createController(gw: Gateway, opts: { configDir?: string; env?: NodeJS.ProcessEnv } = {}): Controller {
  const secret = (ref: SecretRef): string => resolveSecret(ref, { baseDir: opts.configDir, env: opts.env });

  /** Starts one platform, or explains why it stays stopped. */
  const startPlatform = (
    p: Platform,
    spec: NonNullable<GatewayPolicySpec['platforms'][Platform]>,
    policy: CompiledPolicy,
  ): Binding => {
    // The spec is p's own (the caller read it from platforms[p]); TypeScript cannot correlate the two unions.
    const adapter = ADAPTERS[p] as PlatformAdapter<typeof spec>;
    const unset: string[] = [];
    for (const { field, ref } of adapter.requiredSecrets(spec)) {
      try {
        secret(ref);
      } catch {
        unset.push(`${field} (${describeRef(ref)})`);
      }
    }
    if (unset.length > 0) {
      return {
        platform: p,
        policy,
        state: { ready: false, reason: 'SecretUnset', message: `${unset.join(', ')} unset or empty` },
      };
    }
    try {
      return { platform: p, policy, state: { ready: true, runtime: adapter.start(spec, secret) } };
    } catch (err) {
      const reason = err instanceof CaduceusError && err.code === 'SecretUnset' ? 'SecretUnset' : 'InvalidSecret';
      return { platform: p, policy, state: { ready: false, reason, message: errorMessage(err) } };
    }
  };

  return {
    kind: 'GatewayPolicy',
    async reconcile(ctx: ReconcileContext, desired: Resource | undefined) {
      const { name } = splitKey(ctx.key);
      if (!desired) {
        gw.swap(name, []);
        ctx.log.info('gateway policy pruned; its platforms are stopped');
        return;
      }
      const spec = desired.spec as GatewayPolicySpec;
      let policy: CompiledPolicy;
      try {
        policy = compilePolicy(name, spec);
      } catch (err) {
        gw.swap(name, []);
        return {
          terminal: {
            reason: 'InvalidPolicy',
            message: `${errorMessage(err)}; every platform of this policy is stopped`,
          },
        };
      }

      const bindings: Binding[] = [];
      const platforms: Record<string, PlatformStatus> = {};
      let conflict = false;
      for (const p of PLATFORMS) {
        const ps = spec.platforms?.[p];
        if (!ps) continue;
        const endpoint = ENDPOINT_PREFIX + p;
        const rival = claimedBy(ctx.snapshot, name, p);
        if (rival) {
          conflict = true;
          platforms[p] = {
            endpoint,
            ready: false,
            reason: 'PlatformConflict',
            message: `${p} is served by GatewayPolicy ${rival} (first by name wins)`,
          };
          continue;
        }
        const b = startPlatform(p, ps, policy);
        bindings.push(b);
        platforms[p] = b.state.ready
          ? { endpoint, ready: true }
          : { endpoint, ready: false, reason: b.state.reason, message: b.state.message };
      }
      gw.swap(name, bindings);

      ctx.setObserved({
        platforms,
        users: policy.roles.size,
        roles: spec.roles?.length ?? 0,
        auditLevel: policy.auditLevel,
      });
      if (policy.invalidUsers.length > 0) {
        ctx.event(
          'Warning',
          'InvalidUser',
          `users ${policy.invalidUsers.join(', ')} are not platform:id and admit nobody`,
        );
      }
      if (Object.keys(platforms).length === 0) {
        return { terminal: { reason: 'NoPlatforms', message: 'no platform is configured; nothing is served' } };
      }
      setReady(ctx, platforms, policy);
      return conflict ? { requeueAfter: CONFLICT_REQUEUE_MS } : undefined;
    },
    stop: () => gw.stop(),
  };
}

/** Another policy, earlier by name, that configures the same platform. */
function claimedBy(snap: Snapshot, self: string, platform: Platform): string | undefined {
  return resourcesOfKind(snap, 'GatewayPolicy')
    .filter((r) => r.metadata.name !== self && r.metadata.name < self && r.spec.platforms?.[platform])
    .map((r) => r.metadata.name)
    .sort()[0];
}

function setReady(ctx: ReconcileContext, platforms: Record<string, PlatformStatus>, policy: CompiledPolicy): void {
  const entries = Object.entries(platforms);
  const serving = entries.filter(([, s]) => s.ready).map(([p, s]) => `${p} at ${s.endpoint}`);
  const stopped = entries.filter(([, s]) => !s.ready);
  const nobody = policy.roles.size === 0 ? '; no users are listed, so nobody is admitted' : '';
  if (stopped.length > 0) {
    const first = stopped[0]?.[1].reason ?? 'NotStarted';
    const why = stopped.map(([p, s]) => `${p} not started: ${s.message ?? s.reason}`).join('; ');
    ctx.setCondition(
      'Ready',
      'False',
      first,
      `${why}${serving.length ? `; serving ${serving.join(', ')}` : ''}${nobody}`,
    );
    return;
  }
  ctx.setCondition('Ready', 'True', 'Serving', `serving ${serving.join(', ')}${nobody}`);
}
