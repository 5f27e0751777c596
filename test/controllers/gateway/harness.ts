// A running Caduceus for the gateway tests: a real git repository holding a Runtime,
// tasks and a skill whose runs write marker files, and a GatewayPolicy whose reply APIs
// point at a loopback fake platform; `startApp` with the real execution, subagents and
// gateway registrations, the real loader, git source, SQLite store and HTTP server.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startApp, type App } from '../../../app/app.js';
import type { Register } from '../../../app/compose.js';
import { RunStore, type RunRecord } from '../../../reconciler/state/runs.js';
import { register as execution } from '../../../controllers/execution/index.js';
import { register as subagents } from '../../../controllers/tasks/index.js';
import { createController } from '../../../controllers/gateway/controller.js';
import { Gateway, type GatewayOptions } from '../../../controllers/gateway/gateway.js';
import { AuditStore, type AuditEntry } from '../../../controllers/gateway/audit-store.js';
import { commitAll, git, makeRepo, removeFiles, writeFiles } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { doc } from '../../helpers/config.js';
import { startFakePlatform, type FakePlatform } from './fake-platform.js';
import { discordKeys, type DiscordKeys } from './signers.js';
export { eventually } from '../../helpers/wait.js';

export const DISCORD_APP = '424242';

export interface Secrets {
  slack: string;
  discordKeys: DiscordKeys;
  telegramSecret: string;
  telegramBot: string;
  webhook: string;
  /** Env var names the policy references (unique per harness). */
  env: { slack: string; discord: string; telegramSecret: string; telegramBot: string; webhook: string };
}

export interface PolicyShape {
  roles?: Array<{
    name: string;
    users: string[];
    permissions: {
      tasks?: string[];
      skills?: string[];
      status?: boolean;
      agent?: { enabled: boolean; tools?: string[] };
    };
  }>;
  /** Fields laid over each platform's block (freeText, botToken, …), by platform. */
  platforms?: Record<string, Record<string, unknown>>;
  rateLimit?: { requests: number; per: string };
  audit?: 'all' | 'refused' | 'none';
  /** Platforms to leave out of the policy. */
  without?: string[];
}

export const DEFAULT_ROLES: NonNullable<PolicyShape['roles']> = [
  {
    name: 'ops',
    users: ['slack:U1', 'discord:11', 'telegram:21', 'webhook:robot', 'slack:U3'],
    permissions: { tasks: ['mark', 'slow'], skills: ['hello'], status: true },
  },
  { name: 'viewer', users: ['slack:U2', 'discord:12', 'telegram:22', 'webhook:viewer'], permissions: { status: true } },
];

export interface GatewayHarness {
  app: App;
  repo: string;
  fake: FakePlatform;
  secrets: Secrets;
  markers: string;
  stateDir: string;
  url(platform: string): string;
  /** Lines in the marker file of task `mark` (one per run). */
  markCount(): number;
  skillLines(): string[];
  runs(filter?: { kind?: 'skill' | 'task'; name?: string }): RunRecord[];
  audit(): AuditEntry[];
  /** Resolves once the gateway has no queued or running work: what a refused request would have queued has run. */
  idle(): Promise<void>;
  /** Commits a new policy (null: deletes it) and waits until the revision is applied. */
  commitPolicy(shape: PolicyShape | null, message?: string): Promise<string>;
  policyYaml(shape: PolicyShape): string;
  /** Stops the app and starts a new one on the same repository and state directory (`app` then names the new one). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startGateway(
  opts: {
    shape?: PolicyShape;
    gateway?: GatewayOptions;
    unsetEnv?: Array<keyof Secrets['env']>;
    /** Runtime spec fields besides execution (llm, agent, …). */
    runtime?: Record<string, unknown>;
    /** More files of the repository (tasks, skills, context). */
    files?: Record<string, string>;
    /** Registrations besides execution, subagents and the gateway (the agent). */
    also?: readonly Register[];
  } = {},
): Promise<GatewayHarness> {
  const fake = await startFakePlatform();
  const markers = tempDir('caduceus-gw-markers-');
  const tag = randomBytes(4).toString('hex').toUpperCase();
  const secrets: Secrets = {
    slack: randomBytes(16).toString('hex'),
    discordKeys: discordKeys(),
    telegramSecret: `tg_${randomBytes(12).toString('hex')}`,
    telegramBot: `123456:${randomBytes(12).toString('hex')}`,
    webhook: randomBytes(16).toString('hex'),
    env: {
      slack: `GW_SLACK_${tag}`,
      discord: `GW_DISCORD_${tag}`,
      telegramSecret: `GW_TG_SECRET_${tag}`,
      telegramBot: `GW_TG_BOT_${tag}`,
      webhook: `GW_HOOK_${tag}`,
    },
  };
  const values: Record<keyof Secrets['env'], string> = {
    slack: secrets.slack,
    discord: secrets.discordKeys.publicKeyHex,
    telegramSecret: secrets.telegramSecret,
    telegramBot: secrets.telegramBot,
    webhook: secrets.webhook,
  };
  for (const k of Object.keys(values) as Array<keyof Secrets['env']>) {
    if (!opts.unsetEnv?.includes(k)) process.env[secrets.env[k]] = values[k];
  }

  const ref = (env: string): { valueFrom: { env: string } } => ({ valueFrom: { env } });
  const policyYaml = (shape: PolicyShape): string => {
    const platforms: Record<string, unknown> = {
      slack: { channels: ['C1'], apiBaseURL: `${fake.url}/slack/`, signingSecret: ref(secrets.env.slack) },
      discord: {
        channels: ['100'],
        apiBaseURL: `${fake.url}/discord/api`,
        applicationId: DISCORD_APP,
        publicKey: ref(secrets.env.discord),
      },
      telegram: {
        channels: ['-200'],
        apiBaseURL: `${fake.url}/telegram`,
        secretToken: ref(secrets.env.telegramSecret),
        botToken: ref(secrets.env.telegramBot),
      },
      webhook: { channels: ['ci'], secret: ref(secrets.env.webhook), callbackURL: `${fake.url}/callback` },
    };
    for (const [p, extra] of Object.entries(shape.platforms ?? {}))
      platforms[p] = { ...(platforms[p] as Record<string, unknown>), ...extra };
    for (const w of shape.without ?? []) delete platforms[w];
    return doc('GatewayPolicy', 'team', {
      platforms,
      roles: shape.roles ?? DEFAULT_ROLES,
      rateLimit: shape.rateLimit ?? { requests: 100, per: '1m' },
      audit: { level: shape.audit ?? 'all' },
    });
  };

  const m = (f: string): string => join(markers, f);
  // Unscheduled tasks run once when applied; a yearly schedule keeps them for the gateway alone.
  const never = { cron: '0 0 1 1 *', timezone: 'UTC', concurrencyPolicy: 'Allow' };
  const repo = makeRepo({
    'runtime.yaml': doc('Runtime', 'default', { execution: { mode: 'local' }, ...opts.runtime }),
    'tasks/mark.yaml': doc('Task', 'mark', {
      schedule: never,
      subtasks: [{ name: 'write', run: `echo ran >> ${m('mark')}` }],
    }),
    'tasks/slow.yaml': doc('Task', 'slow', {
      schedule: never,
      subtasks: [
        {
          name: 'wait',
          run:
            `touch ${m('slow-started')}; ` +
            `while [ ! -f ${m('release')} ]; do sleep 0.05; done; echo slow >> ${m('slow')}`,
        },
      ],
    }),
    'skills/greet.yaml': doc('Skill', 'greet', {
      version: '1.0.0',
      description: 'Greets someone and leaves a marker',
      aliases: ['hello'],
      params: [{ name: 'who', type: 'string', required: true }],
      steps: [{ run: `echo "hi $PARAM_WHO" >> ${m('greet')}; echo "hi $PARAM_WHO"` }],
    }),
    'gateway.yaml': policyYaml(opts.shape ?? {}),
    ...opts.files,
  });
  const stateDir = tempDir('caduceus-gw-state-');
  let gw: Gateway | undefined;
  const boot = async (): Promise<App> => {
    const started = await startApp({
      repo,
      stateDir,
      listen: '127.0.0.1:0',
      registrations: [
        execution,
        subagents,
        // The gateway registration, keeping the Gateway so tests can await its queue.
        (deps) => {
          gw = new Gateway(deps, { delivery: { baseDelayMs: 20 }, ...opts.gateway });
          const g = gw;
          const controller = createController(g, deps.configDir ? { configDir: deps.configDir } : {});
          return {
            controllers: [controller],
            routes: g.routes(),
            runner: { deliver: (target, text, o) => g.post(target, text, o) },
            stop: () => g.stop(),
          };
        },
        ...(opts.also ?? []),
      ],
    });
    await started.waitForRevision(git(repo, 'rev-parse', 'HEAD'), 20_000);
    return started;
  };
  let app = await boot();
  let runStore = new RunStore(app.store);
  let auditStore = new AuditStore(app.store);
  const read = (f: string): string => (existsSync(m(f)) ? readFileSync(m(f), 'utf8') : '');

  return {
    get app() {
      return app;
    },
    repo,
    fake,
    secrets,
    markers,
    stateDir,
    url: (p) => `${app.url}/gateway/${p}`,
    markCount: () =>
      read('mark')
        .split('\n')
        .filter((l) => l === 'ran').length,
    skillLines: () =>
      read('greet')
        .split('\n')
        .filter((l) => l !== ''),
    runs: (filter = {}) => runStore.list({ ...filter, limit: 1000 }),
    audit: () => auditStore.list({ limit: 1000 }),
    idle: () => gw?.idle() ?? Promise.resolve(),
    policyYaml,
    async commitPolicy(shape, message = 'policy change') {
      if (shape === null) removeFiles(repo, 'gateway.yaml');
      else writeFiles(repo, { 'gateway.yaml': policyYaml(shape) });
      const rev = commitAll(repo, message);
      await app.waitForRevision(rev, 20_000);
      return rev;
    },
    async restart() {
      await app.stop();
      app = await boot();
      runStore = new RunStore(app.store);
      auditStore = new AuditStore(app.store);
    },
    async close() {
      writeFileSync(m('release'), '');
      await app.stop();
      await fake.close();
      for (const k of Object.keys(secrets.env) as Array<keyof Secrets['env']>) delete process.env[secrets.env[k]];
    },
  };
}
