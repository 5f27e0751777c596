// `caduceus gateway log` and `caduceus gateway status`, run as the compiled CLI against
// the state directory of a running Caduceus (build first: npx tsc -p tsconfig.json).

import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type GatewayHarness } from './harness.js';
import { post, slackCommand } from './signers.js';

const CLI = join(import.meta.dirname, '..', '..', '..', 'dist', 'app', 'cli.js');
let h: GatewayHarness;

beforeAll(async () => {
  h = await startGateway({ unsetEnv: ['discord'] });
  const send = (user: string, text: string, id: string, secret = h.secrets.slack) =>
    post(
      h.url('slack'),
      slackCommand(secret, { user, channel: 'C1', text, responseUrl: `${h.fake.url}/slack/r/${id}` }),
    );
  await send('U1', 'run task mark', 'c1');
  await h.fake.waitFor((r) => r.path.endsWith('/c1'));
  await eventually(() => expect(h.audit().some((a) => a.decision === 'delivered')).toBe(true));
  await send('U9', 'run task mark', 'c2');
  await send('U1', 'status', 'c3', 'forged-secret');
});
afterAll(async () => {
  await h?.close();
});

function cli(...args: string[]): string {
  return execFileSync(process.execPath, [CLI, 'gateway', ...args, '--state-dir', h.stateDir], { encoding: 'utf8' });
}

describe('caduceus gateway', () => {
  it('log --json lists every decision newest first; --level warn keeps refusals and rejections', () => {
    const all = JSON.parse(cli('log', '--json')) as Array<{
      decision: string;
      user: string | null;
      platform: string;
      time: string;
    }>;
    expect(all.map((r) => r.decision)).toEqual(['rejected', 'refused', 'delivered', 'completed', 'accepted']);
    expect(all[1]).toMatchObject({ user: 'U9', platform: 'slack' });
    const warn = JSON.parse(cli('log', '--json', '--level', 'warn')) as Array<{ decision: string }>;
    expect(warn.map((r) => r.decision)).toEqual(['rejected', 'refused']);
    const limited = JSON.parse(cli('log', '--json', '--limit', '1')) as unknown[];
    expect(limited).toHaveLength(1);
    const text = cli('log');
    expect(text).toMatch(/^TIME\s+LEVEL\s+PLATFORM\s+USER\s+CHANNEL\s+DECISION\s+COMMAND\s+REASON/);
    expect(text).toMatch(/WARN\s+slack\s+U9\s+C1\s+refused\s+run task mark\s+user slack:U9 is not on the whitelist/);
  });

  it('status shows each platform, its endpoint and why a stopped one is stopped, with counts', () => {
    const s = JSON.parse(cli('status', '--json')) as {
      policies: Array<{
        name: string;
        ready: string;
        reason: string;
        platforms: Array<{ platform: string; endpoint: string; ready: boolean; reason: string | null }>;
      }>;
      counts: Array<{ platform: string; decision: string; count: number }>;
    };
    expect(s.policies).toHaveLength(1);
    expect(s.policies[0]).toMatchObject({ name: 'team', ready: 'False', reason: 'SecretUnset' });
    expect(s.policies[0]?.platforms).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ platform: 'slack', endpoint: '/gateway/slack', ready: true }),
        expect.objectContaining({
          platform: 'discord',
          endpoint: '/gateway/discord',
          ready: false,
          reason: 'SecretUnset',
        }),
      ]),
    );
    expect(s.counts).toEqual(
      expect.arrayContaining([
        { platform: 'slack', decision: 'refused', count: 1 },
        { platform: 'slack', decision: 'accepted', count: 1 },
      ]),
    );
    const text = cli('status');
    expect(text).toMatch(/GatewayPolicy team: Ready=False SecretUnset/);
    expect(text).toMatch(
      /discord\s+POST \/gateway\/discord\s+False\s+SecretUnset: publicKey \(env GW_DISCORD_\w+\) unset or empty/,
    );
  });

  it('exits 2 with the usage for an unknown subcommand or a bad flag', () => {
    const r = spawnSync(process.execPath, [CLI, 'gateway', 'frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown gateway command "frobnicate"/);
    const bad = spawnSync(process.execPath, [CLI, 'gateway', 'log', '--level', 'loud', '--state-dir', h.stateDir], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
  });
});
