// Failing closed without the whole app: the real gateway registration on the real HTTP
// server, reconciled by hand with a policy loaded by the real loader, and a snapshot
// lookup that breaks. Any error while authorising must refuse, never admit.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { compose, lateBoundRunner, type Register } from '../../../app/compose.js';
import { startServer } from '../../../app/server.js';
import { StateStore } from '../../../reconciler/state/store.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import { silentLogger } from '../../../reconciler/log.js';
import type { Condition, ControllerDeps, ReconcileContext, Resource } from '../../../reconciler/types.js';
import { register as execution } from '../../../controllers/execution/index.js';
import { register as subagents } from '../../../controllers/tasks/index.js';
import { createController } from '../../../controllers/gateway/controller.js';
import { Gateway } from '../../../controllers/gateway/gateway.js';
import { AuditStore } from '../../../controllers/gateway/audit-store.js';
import { tempDir } from '../../helpers/temp.js';
import { configDir, doc, loadSnapshot } from '../../helpers/config.js';
import { post, webhookSigned } from './signers.js';
import { CoreStore } from '../../../reconciler/state/core-store.js';

const SECRET_ENV = `GW_FAILCLOSED_${process.pid}`;
const secret = 'fail-closed-secret-value';
let gw: Gateway | undefined;
let close: () => Promise<void>;
let url: string;
let store: StateStore;
let breakSnapshot = false;
let reconcile: (desired: Resource | undefined) => Promise<Condition[]>;
let policy: Resource;

beforeAll(async () => {
  process.env[SECRET_ENV] = secret;
  const dir = configDir(
    {
      'task.yaml': doc('Task', 'mark', { schedule: { cron: '0 0 1 1 *' }, subtasks: [{ name: 'x', run: 'true' }] }),
      'gateway.yaml': doc('GatewayPolicy', 'team', {
        platforms: { webhook: { channels: ['ci'], secret: { valueFrom: { env: SECRET_ENV } } } },
        roles: [{ name: 'ops', users: ['webhook:robot'], permissions: { tasks: ['mark'], status: true } }],
      }),
    },
    'caduceus-gw-failclosed-',
  );
  const snap = await loadSnapshot(dir, 'test');
  store = new StateStore({ stateDir: tempDir('caduceus-gw-failclosed-state-') });
  const { runner, provide } = lateBoundRunner();
  const deps: ControllerDeps = {
    store,
    events: new CoreStore(store),
    log: silentLogger,
    stateDir: tempDir(),
    snapshot: () => {
      if (breakSnapshot) throw new Error('snapshot unavailable');
      return snap;
    },
    runner,
    metrics: new Registry(),
  };
  // The gateway registration, keeping the Gateway so a test can await its queue.
  const gateway: Register = (d) => {
    gw = new Gateway(d);
    const g = gw;
    return { controllers: [createController(g)], routes: g.routes(), stop: () => g.stop() };
  };
  const composition = compose(deps, provide, [execution, subagents, gateway]);
  const server = await startServer({
    listen: '127.0.0.1:0',
    routes: composition.routes,
    metrics: deps.metrics,
    ready: () => true,
    status: () => ({}),
    log: silentLogger,
  });
  url = server.url;
  const ctl = composition.controllers.find((c) => c.kind === 'GatewayPolicy')!;
  reconcile = async (desired) => {
    const conditions: Condition[] = [];
    const ctx: ReconcileContext = {
      key: 'GatewayPolicy/team',
      revision: 'test',
      snapshot: snap,
      signal: new AbortController().signal,
      log: silentLogger,
      setCondition: (type, status, reason, message) =>
        conditions.push({ type, status, reason, message, lastTransitionTime: '' }),
      setObserved: () => undefined,
      event: () => undefined,
    };
    await ctl.reconcile(ctx, desired, { status: undefined });
    return conditions;
  };
  policy = snap.resources.get('GatewayPolicy/team') as Resource;
  expect((await reconcile(policy)).find((c) => c.type === 'Ready')).toMatchObject({
    status: 'True',
    reason: 'Serving',
  });
  close = async () => {
    await composition.stop();
    await server.close();
    store.close();
  };
});
afterAll(async () => {
  delete process.env[SECRET_ENV];
  await close?.();
});

describe('gateway fails closed', () => {
  it('refuses a whitelisted request when checking its permission throws, and runs nothing', async () => {
    const body = JSON.stringify({ user: 'robot', channel: 'ci', text: 'run task mark' });
    breakSnapshot = true;
    const res = await post(`${url}/gateway/webhook`, webhookSigned(secret, body));
    breakSnapshot = false;
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({
      status: 'refused',
      error: 'Could not check your permissions; the request was refused.',
    });
    const row = new AuditStore(store).list({ limit: 1 })[0];
    expect(row).toMatchObject({ decision: 'refused', user: 'robot' });
    expect(row?.reason).toBe('authorisation error: snapshot unavailable');
    await gw?.idle();
    expect(new RunStore(store).list()).toEqual([]);
  });

  it('stops the platform (404) once the policy is pruned, and serves again when it returns', async () => {
    await reconcile(undefined);
    const body = JSON.stringify({ user: 'robot', channel: 'ci', text: 'help' });
    expect((await post(`${url}/gateway/webhook`, webhookSigned(secret, body))).status).toBe(404);
    await reconcile(policy);
    const back = await post(`${url}/gateway/webhook`, webhookSigned(secret, body));
    expect(back.status).toBe(200);
    expect(back.json()).toMatchObject({ status: 'ok', text: expect.stringMatching(/^commands:/) });
  });
});
