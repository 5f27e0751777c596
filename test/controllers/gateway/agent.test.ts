// Asking the agent from chat, end to end on a running Caduceus: `ask …` (and free text on
// a platform that takes it) from a whitelisted user whose role may ask runs the agent loop
// against the scripted model with the role's tools and the answer is the reply in the
// channel; a role that may not ask is refused with an audit record; the permission is
// checked again when queued work starts.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ROLES, eventually, startGateway, type GatewayHarness, type PolicyShape } from './harness.js';
import { post, slackCommand, telegramUpdate } from './signers.js';
import { register as agent } from '../../../controllers/agent/index.js';
import {
  MODEL_KEY,
  startScriptedModel,
  toolResults,
  type Script,
  type ScriptedModel,
} from '../agent/scripted-model.js';

const LLM_ENV = 'GW_AGENT_TEST_LLM_KEY';
let model: ScriptedModel;
let script: Script = () => ({ content: 'unscripted' });

const ASKER = {
  name: 'asker',
  users: ['slack:U7', 'telegram:27'],
  permissions: { agent: { enabled: true, tools: ['greet'] } },
};
const SHAPE: PolicyShape = { roles: [...DEFAULT_ROLES, ASKER], platforms: { slack: { freeText: true } } };

/** Greets through the skill tool, then answers with what the skill printed. */
const greetThenAnswer: Script = (req) =>
  toolResults(req).length === 0
    ? { toolCalls: [{ name: 'greet', arguments: { who: 'Ada' } }] }
    : { content: `The greeting is: ${toolResults(req)[0]?.content?.trim() ?? '?'}` };

function start(opts: Parameters<typeof startGateway>[0] = {}): Promise<GatewayHarness> {
  return startGateway({
    shape: SHAPE,
    runtime: {
      llm: { baseURL: model.url, model: 'scripted-1', apiKey: { valueFrom: { env: LLM_ENV } }, maxRetries: 0 },
    },
    also: [agent],
    ...opts,
  });
}

const slackAsk = (h: GatewayHarness, user: string, text: string, id: string) =>
  post(
    h.url('slack'),
    slackCommand(h.secrets.slack, {
      user,
      channel: 'C1',
      text,
      responseUrl: `${h.fake.url}/slack/commands/T0001/${id}`,
    }),
  );

beforeAll(async () => {
  process.env[LLM_ENV] = MODEL_KEY;
  model = await startScriptedModel((req, n) => script(req, n));
});
afterAll(async () => {
  await model?.close();
  delete process.env[LLM_ENV];
});

describe('gateway: asking the agent', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    model.requests.length = 0;
  });

  it('answers `ask …` from a role that may ask in the Slack channel, with the role tools', async () => {
    script = greetThenAnswer;
    const res = await slackAsk(h, 'U7', "ask what's the greeting for Ada?", 'a1');
    expect(res.json()).toEqual({ response_type: 'ephemeral', text: "Working on it: ask what's the greeting for Ada?" });
    const reply = await h.fake.waitFor((r) => r.path.endsWith('/a1'));
    expect(reply.body.text).toBe('The greeting is: hi Ada');

    // The question reached the model verbatim with the role's tools only, and the skill really ran.
    expect(model.requests[0]?.body.messages.at(-1)).toEqual({ role: 'user', content: "what's the greeting for Ada?" });
    expect(model.requests[0]?.body.tools?.map((t) => t.function.name)).toEqual(['greet']);
    expect(h.skillLines()).toEqual(['hi Ada']);
    const run = h.app.store.db
      .prepare("SELECT id, name, trigger, actor, status FROM runs WHERE kind = 'agent' ORDER BY started_at DESC")
      .get() as { id: string; name: string; trigger: string; actor: string; status: string };
    expect(run).toMatchObject({
      name: 'gateway/slack',
      trigger: 'gateway:slack',
      actor: 'slack:U7',
      status: 'succeeded',
    });
    const rows = h.audit().filter((a) => a.user === 'U7' && a.requestId !== null);
    expect(rows.map((a) => a.decision).sort()).toEqual(['accepted', 'completed', 'delivered']);
    expect(rows.find((a) => a.decision === 'completed')?.runId).toBe(run.id);
  });

  it('sends free text to the agent on a platform that takes it', async () => {
    script = () => ({ content: 'Two skills: greet and its alias hello.' });
    const res = await slackAsk(h, 'U7', 'how many skills do we have', 'f1');
    expect((res.json() as { text: string }).text).toBe('Working on it: ask how many skills do we have');
    const reply = await h.fake.waitFor((r) => r.path.endsWith('/f1'));
    expect(reply.body.text).toBe('Two skills: greet and its alias hello.');
    expect(model.requests[0]?.body.messages.at(-1)?.content).toBe('how many skills do we have');
  });

  it('answers `/ask` in Telegram through sendMessage', async () => {
    script = greetThenAnswer;
    const upd = telegramUpdate(h.secrets.telegramSecret, { user: 27, chat: -200, text: '/ask@CaduceusBot greet Ada' });
    expect((await post(h.url('telegram'), upd)).status).toBe(200);
    const sent = await h.fake.waitFor(
      (r) => r.path === `/telegram/bot${h.secrets.telegramBot}/sendMessage` && r.body.text !== 'Working on it',
    );
    expect(sent.body).toMatchObject({ chat_id: -200, text: 'The greeting is: hi Ada' });
    expect(model.requests[0]?.body.messages.at(-1)?.content).toBe('greet Ada');
  });

  it('refuses a user whose role may not ask, with an audit record, and never calls the model', async () => {
    const res = await slackAsk(h, 'U1', 'ask is prod healthy?', 'r1');
    expect(res.json()).toEqual({ response_type: 'ephemeral', text: 'Your role may not ask the agent.' });
    // Free text from the same user is a question too, and refused the same way.
    const free = await slackAsk(h, 'U1', 'is prod healthy?', 'r2');
    expect((free.json() as { text: string }).text).toBe('Your role may not ask the agent.');
    const rows = h.audit().filter((a) => a.user === 'U1' && a.decision === 'refused');
    expect(rows.map((a) => [a.command, a.reason])).toEqual([
      ['ask is prod healthy?', 'roles ops may not ask the agent'],
      ['ask is prod healthy?', 'roles ops may not ask the agent'],
    ]);
    expect(model.requests).toHaveLength(0);
  });
});

describe('gateway: asking the agent, checked again when the work starts', () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    model.requests.length = 0;
  });

  it('refuses a queued question when the role loses the agent before the work starts', async () => {
    h = await start({ gateway: { concurrency: 1 } });
    const g = h;
    // U1's slow task holds the only slot until the test releases it.
    expect((await slackAsk(g, 'U1', 'run task slow', 'q1')).status).toBe(200);
    await eventually(() => expect(existsSync(join(g.markers, 'slow-started'))).toBe(true));
    const queued = await slackAsk(g, 'U7', 'ask greet Ada', 'q2');
    expect((queued.json() as { text: string }).text).toBe('Working on it: ask greet Ada');

    await g.commitPolicy(
      { ...SHAPE, roles: [...DEFAULT_ROLES, { ...ASKER, permissions: { agent: { enabled: false } } }] },
      'asker may no longer ask',
    );
    writeFileSync(join(g.markers, 'release'), '');

    const reply = await g.fake.waitFor((r) => r.path.endsWith('/q2'));
    expect(reply.body.text).toBe('Your role may not ask the agent.');
    const row = g.audit().find((a) => a.user === 'U7' && a.decision === 'refused');
    expect(row?.reason).toBe('checked again before start: roles asker may not ask the agent');
    expect(model.requests).toHaveLength(0);
  });
});
