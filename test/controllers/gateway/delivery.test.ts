// Scheduled Tasks posting their result where they say, end to end on a running Caduceus:
// a prompt subtask's answer (the agent against the scripted model) goes to a Slack channel
// through chat.postMessage and to a Telegram chat through sendMessage, as a bot posts;
// a platform that refuses the post leaves a DeliveryFailed event on the Task.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, eventually, type GatewayHarness } from './harness.js';
import { register as agent } from '../../../controllers/agent/index.js';
import { MODEL_KEY, startScriptedModel, type ScriptedModel } from '../agent/scripted-model.js';
import { doc } from '../../helpers/config.js';

const LLM_ENV = 'GW_DELIVERY_TEST_LLM_KEY';
const BOT_ENV = 'GW_DELIVERY_TEST_SLACK_BOT';
let model: ScriptedModel;

/** Every second, one at a time: the test waits for the first delivery and ignores the rest. */
const everySecond = { cron: '* * * * * *', timezone: 'UTC', concurrencyPolicy: 'Forbid' };
const briefing = (name: string, platform: string, channel: string): string =>
  doc('Task', name, {
    schedule: everySecond,
    subtasks: [{ name: 'brief', prompt: `Summarise the night for ${name}`, agent: { tools: [] } }],
    delivery: { platform, channel },
  });

async function start(botToken: string): Promise<GatewayHarness> {
  process.env[BOT_ENV] = botToken;
  return startGateway({
    runtime: {
      llm: { baseURL: model.url, model: 'scripted-1', apiKey: { valueFrom: { env: LLM_ENV } }, maxRetries: 0 },
    },
    also: [agent],
    shape: { platforms: { slack: { botToken: { valueFrom: { env: BOT_ENV } } } } },
    files: {
      'tasks/slack-briefing.yaml': briefing('slack-briefing', 'slack', 'C1'),
      'tasks/telegram-briefing.yaml': briefing('telegram-briefing', 'telegram', '-200'),
    },
  });
}

beforeAll(async () => {
  process.env[LLM_ENV] = MODEL_KEY;
  model = await startScriptedModel((req) => ({
    content: `All quiet (${String(req.body.messages.at(-1)?.content).replace('Summarise the night for ', '')}).`,
  }));
});
afterAll(async () => {
  await model?.close();
  delete process.env[LLM_ENV];
  delete process.env[BOT_ENV];
});

describe('scheduled tasks delivering their result', () => {
  let h: GatewayHarness | undefined;
  afterAll(async () => {
    await h?.close();
  });

  it('posts the prompt subtask answer to the Slack channel and the Telegram chat the Task names', async () => {
    h = await start('xoxb-fake-bot');
    const g = h;
    const slack = await g.fake.waitFor((r) => r.path === '/slack/chat.postMessage');
    expect(slack.headers.authorization).toBe('Bearer xoxb-fake-bot');
    expect(slack.body.channel).toBe('C1');
    expect(String(slack.body.text)).toMatch(
      /^Task slack-briefing succeeded in \S+ \(run [0-9a-f]{8}\)\n\nAll quiet \(slack-briefing\)\.$/,
    );
    const telegram = await g.fake.waitFor(
      (r) => r.path === `/telegram/bot${g.secrets.telegramBot}/sendMessage` && r.body.chat_id === -200,
    );
    expect(String(telegram.body.text)).toMatch(
      /^Task telegram-briefing succeeded .*\n\nAll quiet \(telegram-briefing\)\.$/,
    );

    // The run was the schedule's; the Task says where its result went; the gateway audited the post.
    const run = g.runs({ kind: 'task', name: 'slack-briefing' }).find((r) => r.status === 'succeeded');
    expect(run?.trigger).toBe('schedule');
    await eventually(() =>
      expect(g.app.core.events({ object: 'Task/slack-briefing' }).map((e) => e.reason)).toContain('ResultDelivered'),
    );
    const event = g.app.core.events({ object: 'Task/slack-briefing' }).find((e) => e.reason === 'ResultDelivered');
    expect(event?.message).toMatch(/^run [0-9a-f]{8} \(succeeded\) posted to slack channel C1$/);
    const audit = g.audit().find((a) => a.platform === 'slack' && a.command === 'deliver (task:slack-briefing)');
    expect(audit).toMatchObject({ decision: 'delivered', channel: 'C1', policy: 'team' });
  });

  it('records DeliveryFailed on the Task when the platform refuses the post', async () => {
    await h?.close();
    h = await start('xoxb-revoked');
    const g = h;
    await eventually(
      () =>
        expect(g.app.core.events({ object: 'Task/slack-briefing' }).map((e) => e.reason)).toContain('DeliveryFailed'),
      20_000,
    );
    const event = g.app.core.events({ object: 'Task/slack-briefing' }).find((e) => e.reason === 'DeliveryFailed');
    expect(event).toMatchObject({ type: 'Warning' });
    expect(event?.message).toMatch(
      new RegExp(
        'could not post to slack channel C1: posting to slack channel C1 failed: ' +
          '.*Slack refused chat\\.postMessage: invalid_auth',
      ),
    );
    expect(g.audit().find((a) => a.decision === 'delivery-failed' && a.channel === 'C1')?.level).toBe('error');
  });
});
