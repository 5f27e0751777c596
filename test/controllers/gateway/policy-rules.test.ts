// The whitelist's rules on their own, without HTTP: how a GatewayPolicy spec compiles
// (user keys, channel lists, rate limit and audit defaults), who is admitted where, and
// which verbs a set of roles permits against a snapshot's tasks and skills (aliases too).

import { beforeEach, describe, expect, it } from 'vitest';
import type { Command } from '../../../controllers/gateway/commands.js';
import {
  admit,
  allowedSummary,
  type CompiledPolicy,
  compilePolicy,
  permit,
} from '../../../controllers/gateway/policy.js';
import type { GatewayPolicySpec } from '../../../reconciler/specs.js';
import type { Resource, ResourceKey, Snapshot } from '../../../reconciler/types.js';

const ref = { valueFrom: { env: 'UNUSED' } };

function spec(over: Partial<GatewayPolicySpec> = {}): GatewayPolicySpec {
  return {
    platforms: {
      slack: { signingSecret: ref, channels: ['C1', 'C2'] },
      telegram: { secretToken: ref, botToken: ref, channels: [-200 as unknown as string] },
      webhook: { secret: ref } as GatewayPolicySpec['platforms']['webhook'],
    } as GatewayPolicySpec['platforms'],
    roles: [
      {
        name: 'ops',
        users: ['slack:U1', 'slack:U12', 'telegram:21'],
        permissions: { tasks: ['deploy'], skills: ['lint'], status: true },
      },
      {
        name: 'dev',
        users: ['slack:U12', 'slack:U2'],
        permissions: { tasks: ['test'], skills: ['fmt', 'ship'], status: false },
      },
    ],
    rateLimit: { requests: 5, per: '1m' },
    audit: { level: 'refused' },
    ...over,
  };
}

function resource(kind: 'Skill' | 'Task', name: string, aliases: string[] = []): Resource {
  return {
    apiVersion: 'caduceus.dev/v1',
    kind,
    metadata: { name },
    spec: kind === 'Skill' ? { aliases } : {},
    source: { file: `${kind}/${name}.yaml`, line: 1, column: 1 },
    hash: `h-${name}`,
  } as Resource;
}

const snapshot = (): Snapshot => ({
  revision: '0123456789abcdef',
  resources: new Map(
    [
      resource('Task', 'deploy'),
      resource('Task', 'test'),
      resource('Skill', 'lint'),
      resource('Skill', 'format', ['fmt']),
      resource('Skill', 'release', ['ship']),
    ].map((r) => [`${r.kind}/${r.metadata.name}` as ResourceKey, r]),
  ),
});
const snap = snapshot();

// Compiled inside each test (not at load), so every test runs the code under test itself.
let policy: CompiledPolicy;
beforeEach(() => {
  policy = compilePolicy('team', spec());
});
const rolesOf = (key: string) => policy.roles.get(key) ?? [];
const runTask = (name: string): Command => ({ verb: 'run-task', name });
const runSkill = (name: string): Command => ({ verb: 'run-skill', name, params: {} });

describe('compilePolicy', () => {
  it('keys roles by platform:user, a user in several roles holding all of them', () => {
    expect(rolesOf('slack:U1').map((r) => r.name)).toEqual(['ops']);
    expect(rolesOf('slack:U12').map((r) => r.name)).toEqual(['ops', 'dev']);
    expect(rolesOf('telegram:21').map((r) => r.name)).toEqual(['ops']);
    expect([...policy.roles.keys()].sort()).toEqual(['slack:U1', 'slack:U12', 'slack:U2', 'telegram:21']);
    const ops = rolesOf('slack:U1')[0];
    expect(ops && { tasks: [...ops.tasks], skills: ops.skills, status: ops.status }).toEqual({
      tasks: ['deploy'],
      skills: ['lint'],
      status: true,
    });
    expect(rolesOf('slack:U2')[0]?.status).toBe(false);
  });

  it('keeps only users written as a known platform and an id; the others admit nobody', () => {
    const p = compilePolicy(
      'p',
      spec({
        roles: [
          {
            name: 'r',
            users: ['irc:bob', 'slack', 'slack:', 'xslack:U1', 'Slack:U1', 'discord:81', 'webhook:ci'],
            permissions: { tasks: [], skills: [], status: false },
          },
        ],
      }),
    );
    expect(p.invalidUsers).toEqual(['irc:bob', 'slack', 'slack:', 'xslack:U1', 'Slack:U1']);
    const newline = compilePolicy(
      'p',
      spec({ roles: [{ name: 'r', users: ['slack:U1\nX'], permissions: { tasks: [], skills: [], status: false } }] }),
    );
    expect(newline.invalidUsers).toEqual(['slack:U1\nX']);
    expect([...p.roles.keys()]).toEqual(['discord:81', 'webhook:ci']);
    expect(policy.invalidUsers).toEqual([]);
  });

  it('gives a role without permissions or users nothing, instead of failing', () => {
    const p = compilePolicy(
      'p',
      spec({
        roles: [{ name: 'bare', users: ['slack:U5'] }, { name: 'nobody' }] as unknown as GatewayPolicySpec['roles'],
      }),
    );
    const bare = p.roles.get('slack:U5')?.[0];
    expect(bare && { tasks: [...bare.tasks], skills: bare.skills, status: bare.status }).toEqual({
      tasks: [],
      skills: [],
      status: false,
    });
    expect([...p.roles.keys()]).toEqual(['slack:U5']);
    expect(p.invalidUsers).toEqual([]);
  });

  it('opens only the listed channels of configured platforms, numeric ids as text', () => {
    expect([...policy.channels.keys()]).toEqual(['slack', 'telegram', 'webhook']);
    expect([...(policy.channels.get('slack') ?? [])]).toEqual(['C1', 'C2']);
    expect([...(policy.channels.get('telegram') ?? [])]).toEqual(['-200']);
    expect([...(policy.channels.get('webhook') ?? [])]).toEqual([]);
  });

  it('reads the rate limit, rounding down and admitting nothing when it is missing or nonsense', () => {
    expect(policy.rateLimit).toEqual({ requests: 5, perMs: 60_000 });
    expect(policy.auditLevel).toBe('refused');
    const limit = (requests: unknown, per?: string) =>
      compilePolicy('p', spec({ rateLimit: { requests, per } as GatewayPolicySpec['rateLimit'] })).rateLimit;
    expect(limit(2.7, '30s')).toEqual({ requests: 2, perMs: 30_000 });
    expect(limit(1)).toEqual({ requests: 1, perMs: 60_000 });
    expect(limit(0).requests).toBe(0);
    expect(limit(-3).requests).toBe(0);
    expect(limit('many').requests).toBe(0);
    expect(limit(Number.POSITIVE_INFINITY).requests).toBe(0);
    const bare = compilePolicy('p', { platforms: {} } as GatewayPolicySpec);
    expect(bare.rateLimit).toEqual({ requests: 0, perMs: 60_000 });
    expect(bare.auditLevel).toBe('all');
    expect(bare.roles.size).toBe(0);
    expect(bare.name).toBe('p');
  });
});

describe('admit', () => {
  it('admits a whitelisted user in an open channel with all their roles', () => {
    const a = admit(policy, 'slack', 'U12', 'C2');
    expect(a.ok && a.roles.map((r) => r.name)).toEqual(['ops', 'dev']);
    expect(admit(policy, 'telegram', '21', '-200').ok).toBe(true);
  });

  it('refuses a channel that is not listed, or a platform that is not configured', () => {
    expect(admit(policy, 'slack', 'U1', 'C9')).toEqual({
      ok: false,
      reason: 'channel C9 is not on the slack channel list',
      reply: 'This channel is not allowed to use Caduceus.',
    });
    expect(admit(policy, 'discord', 'U1', 'C1')).toMatchObject({
      ok: false,
      reason: 'channel C1 is not on the discord channel list',
    });
  });

  it('refuses a user who is not on the whitelist, or is whitelisted on another platform only', () => {
    expect(admit(policy, 'slack', 'U9', 'C1')).toEqual({
      ok: false,
      reason: 'user slack:U9 is not on the whitelist',
      reply: 'You are not allowed to use Caduceus here.',
    });
    expect(admit(policy, 'telegram', 'U1', '-200')).toMatchObject({
      ok: false,
      reason: 'user telegram:U1 is not on the whitelist',
    });
  });
});

describe('permit', () => {
  it('lets anyone admitted ask for help', () => {
    expect(permit(rolesOf('slack:U2'), { verb: 'help' }, snap)).toEqual({ ok: true });
    expect(permit([], { verb: 'help' }, snap)).toEqual({ ok: true });
  });

  it('lets status through when any held role may read it', () => {
    expect(permit(rolesOf('slack:U12'), { verb: 'status' }, snap)).toEqual({ ok: true });
    expect(permit(rolesOf('slack:U2'), { verb: 'status' }, snap)).toEqual({
      ok: false,
      reason: 'roles dev may not read status',
      reply: 'Your role may not read status.',
    });
  });

  it('runs a task only when a held role names it and it exists', () => {
    expect(permit(rolesOf('slack:U12'), runTask('test'), snap)).toEqual({ ok: true, target: 'test' });
    expect(permit(rolesOf('slack:U12'), runTask('deploy'), snap)).toEqual({ ok: true, target: 'deploy' });
    expect(permit(rolesOf('slack:U2'), runTask('deploy'), snap)).toEqual({
      ok: false,
      reason: 'roles dev may not run task deploy',
      reply: 'Your role may not run task deploy.',
    });
    const ghost = compilePolicy(
      'p',
      spec({
        roles: [{ name: 'a', users: ['slack:U1'], permissions: { tasks: ['gone'], skills: [], status: false } }],
      }),
    );
    expect(permit(ghost.roles.get('slack:U1') ?? [], runTask('gone'), snap)).toEqual({
      ok: false,
      reason: 'task gone does not exist at revision 01234567',
      reply: 'There is no task named gone.',
    });
  });

  it('runs a skill only when a held role names it, comparing canonical names of aliases', () => {
    expect(permit(rolesOf('slack:U1'), runSkill('lint'), snap)).toEqual({ ok: true, target: 'lint' });
    // The role says `fmt` (an alias) and the command the canonical name, and the other way round.
    expect(permit(rolesOf('slack:U2'), runSkill('format'), snap)).toEqual({ ok: true, target: 'format' });
    expect(permit(rolesOf('slack:U2'), runSkill('ship'), snap)).toEqual({ ok: true, target: 'release' });
    expect(permit(rolesOf('slack:U2'), runSkill('lint'), snap)).toEqual({
      ok: false,
      reason: 'roles dev may not run skill lint',
      reply: 'Your role may not run skill lint.',
    });
    expect(permit(rolesOf('slack:U1'), runSkill('fmt'), snap)).toEqual({
      ok: false,
      reason: 'roles ops may not run skill format',
      reply: 'Your role may not run skill fmt.',
    });
    // Several roles: one of them naming the skill is enough.
    expect(permit(rolesOf('slack:U12'), runSkill('lint'), snap)).toEqual({ ok: true, target: 'lint' });
    expect(permit(rolesOf('slack:U12'), runSkill('ship'), snap)).toEqual({ ok: true, target: 'release' });
    expect(permit(rolesOf('slack:U12'), runSkill('nope'), snap)).toMatchObject({
      ok: false,
      reason: 'roles ops, dev may not run skill nope',
    });
  });

  it('refuses a skill a role names that the snapshot does not have', () => {
    const p = compilePolicy(
      'p',
      spec({
        roles: [{ name: 'a', users: ['slack:U1'], permissions: { tasks: [], skills: ['ghost'], status: false } }],
      }),
    );
    expect(permit(p.roles.get('slack:U1') ?? [], runSkill('ghost'), snap)).toEqual({
      ok: false,
      reason: 'skill ghost does not exist at revision 01234567',
      reply: 'There is no skill named ghost.',
    });
  });
});

describe('allowedSummary', () => {
  it('joins what every held role may run, sorted and without repeats', () => {
    expect(allowedSummary(rolesOf('slack:U12'))).toEqual({
      tasks: ['deploy', 'test'],
      skills: ['fmt', 'lint', 'ship'],
      status: true,
      agent: false,
    });
    expect(allowedSummary(rolesOf('slack:U2'))).toEqual({
      tasks: ['test'],
      skills: ['fmt', 'ship'],
      status: false,
      agent: false,
    });
    expect(allowedSummary([...rolesOf('slack:U2'), ...rolesOf('slack:U1')])).toEqual({
      tasks: ['deploy', 'test'],
      skills: ['fmt', 'lint', 'ship'],
      status: true,
      agent: false,
    });
    const twice = [...rolesOf('slack:U1'), ...rolesOf('slack:U1')];
    expect(allowedSummary(twice)).toEqual({ tasks: ['deploy'], skills: ['lint'], status: true, agent: false });
  });
});
