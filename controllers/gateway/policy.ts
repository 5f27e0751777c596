// The whitelist as the gateway enforces it: a GatewayPolicy spec compiled into lookups
// (who holds which roles, which channels are open) and the two questions asked of every
// request: may this person speak here at all, and may they run this. Everything not
// named is refused; there is no wildcard and no default role.

import type { Platform, GatewayPolicySpec } from '../../reconciler/specs.js';
import type { Snapshot } from '../../reconciler/types.js';
import { getResource } from '../../reconciler/types.js';
import { effectiveRuntime } from '../../reconciler/runtime-defaults.js';
import { parseDuration } from '../../reconciler/duration.js';
import { findSkill } from '../../reconciler/skill-names.js';
import type { Command } from './commands.js';

export const PLATFORMS: readonly Platform[] = ['slack', 'discord', 'telegram', 'webhook'];

export interface CompiledRole {
  name: string;
  tasks: ReadonlySet<string>;
  skills: readonly string[];
  status: boolean;
  /** Present when members may ask the agent; `tools` undefined means the Runtime's allow-list. */
  agent?: { tools?: readonly string[] };
}

export interface CompiledPolicy {
  name: string;
  channels: ReadonlyMap<Platform, ReadonlySet<string>>;
  /** Keyed by `platform:userId`. */
  roles: ReadonlyMap<string, readonly CompiledRole[]>;
  rateLimit: { requests: number; perMs: number };
  auditLevel: GatewayPolicySpec['audit']['level'];
  /** User entries that are not `platform:id` with a known platform; they admit nobody. */
  invalidUsers: string[];
  /** Platforms whose messages that are not commands go to the agent. */
  freeText: ReadonlySet<Platform>;
}

export type Refusal = { ok: false; reason: string; reply: string };

export function compilePolicy(name: string, spec: GatewayPolicySpec): CompiledPolicy {
  const channels = new Map<Platform, ReadonlySet<string>>();
  const freeText = new Set<Platform>();
  for (const p of PLATFORMS) {
    const ps = spec.platforms[p];
    if (ps) channels.set(p, new Set((ps.channels ?? []).map(String)));
    if (ps?.freeText === true) freeText.add(p);
  }
  const roles = new Map<string, CompiledRole[]>();
  const invalidUsers: string[] = [];
  for (const r of spec.roles ?? []) {
    const role: CompiledRole = {
      name: r.name,
      tasks: new Set(r.permissions?.tasks ?? []),
      skills: [...(r.permissions?.skills ?? [])],
      status: r.permissions?.status === true,
      ...(r.permissions?.agent?.enabled === true
        ? { agent: r.permissions.agent.tools ? { tools: [...r.permissions.agent.tools] } : {} }
        : {}),
    };
    for (const u of r.users ?? []) {
      const m = /^(slack|discord|telegram|webhook):(.+)$/.exec(String(u));
      if (!m) {
        invalidUsers.push(String(u));
        continue;
      }
      const list = roles.get(String(u)) ?? [];
      list.push(role);
      roles.set(String(u), list);
    }
  }
  const requests = Math.floor(Number(spec.rateLimit?.requests));
  return {
    name,
    channels,
    roles,
    // A missing or nonsensical limit admits nothing rather than everything.
    rateLimit: {
      requests: Number.isFinite(requests) && requests > 0 ? requests : 0,
      perMs: parseDuration(spec.rateLimit?.per ?? '1m'),
    },
    auditLevel: spec.audit?.level ?? 'all',
    invalidUsers,
    freeText,
  };
}

/** May `user` speak to the gateway from `channel` at all? */
export function admit(
  policy: CompiledPolicy,
  platform: Platform,
  user: string,
  channel: string,
): { ok: true; roles: readonly CompiledRole[] } | Refusal {
  const open = policy.channels.get(platform);
  if (!open?.has(channel)) {
    return {
      ok: false,
      reason: `channel ${channel} is not on the ${platform} channel list`,
      reply: 'This channel is not allowed to use Caduceus.',
    };
  }
  const roles = policy.roles.get(`${platform}:${user}`);
  if (!roles || roles.length === 0) {
    return {
      ok: false,
      reason: `user ${platform}:${user} is not on the whitelist`,
      reply: 'You are not allowed to use Caduceus here.',
    };
  }
  return { ok: true, roles };
}

/**
 * May someone holding `roles` run `command`? Returns the canonical target name for runs,
 * and for `ask` the agent tools the roles allow together.
 */
export function permit(
  roles: readonly CompiledRole[],
  command: Command,
  snap: Snapshot,
): { ok: true; target?: string; tools?: string[] } | Refusal {
  const names = roles.map((r) => r.name).join(', ');
  switch (command.verb) {
    case 'ask': {
      const askers = roles.filter((r) => r.agent);
      if (askers.length === 0)
        return {
          ok: false,
          reason: `roles ${names} may not ask the agent`,
          reply: 'Your role may not ask the agent.',
        };
      // A role without its own list stands for the Runtime's allow-list, read now (it may have changed).
      const runtimeTools = effectiveRuntime(snap).agent.tools;
      const tools = new Set<string>();
      for (const r of askers) for (const t of r.agent?.tools ?? runtimeTools) tools.add(t);
      return { ok: true, tools: [...tools] };
    }
    case 'help':
      return { ok: true };
    case 'status':
      return roles.some((r) => r.status)
        ? { ok: true }
        : { ok: false, reason: `roles ${names} may not read status`, reply: 'Your role may not read status.' };
    case 'run-task': {
      if (!roles.some((r) => r.tasks.has(command.name))) {
        return {
          ok: false,
          reason: `roles ${names} may not run task ${command.name}`,
          reply: `Your role may not run task ${command.name}.`,
        };
      }
      if (!getResource(snap, 'Task', command.name)) {
        return {
          ok: false,
          reason: `task ${command.name} does not exist at revision ${snap.revision.slice(0, 8)}`,
          reply: `There is no task named ${command.name}.`,
        };
      }
      return { ok: true, target: command.name };
    }
    case 'run-skill': {
      // Names in roles and commands may be aliases: compare canonical names (unknown ones as written).
      const canon = (n: string): string => findSkill(snap, n)?.metadata.name ?? n;
      const wanted = canon(command.name);
      if (!roles.some((r) => r.skills.some((s) => canon(s) === wanted))) {
        return {
          ok: false,
          reason: `roles ${names} may not run skill ${wanted}`,
          reply: `Your role may not run skill ${command.name}.`,
        };
      }
      if (!getResource(snap, 'Skill', wanted)) {
        return {
          ok: false,
          reason: `skill ${wanted} does not exist at revision ${snap.revision.slice(0, 8)}`,
          reply: `There is no skill named ${command.name}.`,
        };
      }
      return { ok: true, target: wanted };
    }
  }
}

/** What a role holder may run, for `help` and `status` replies. */
export function allowedSummary(roles: readonly CompiledRole[]): {
  tasks: string[];
  skills: string[];
  status: boolean;
  agent: boolean;
} {
  const tasks = new Set<string>();
  const skills = new Set<string>();
  for (const r of roles) {
    for (const t of r.tasks) tasks.add(t);
    for (const s of r.skills) skills.add(s);
  }
  return {
    tasks: [...tasks].sort(),
    skills: [...skills].sort(),
    status: roles.some((r) => r.status),
    agent: roles.some((r) => r.agent),
  };
}
