// The Proxy resource's lifecycle, reconcile by reconcile: fail closed on unset keys, keys
// rotating without a restart, a refused public bind, a taken port, moving to a new port
// while in-flight requests finish on the old one, a dead listener restarted, pruning,
// and TLS with a certificate reloaded in place.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import OpenAI from 'openai';
import { execFileSync } from 'node:child_process';
import { createServer, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { harness, freePort, proxyYaml, skillYaml, type Harness } from './harness.js';
import type { Resource } from '../../../reconciler/types.js';
import { eventually, waitFor } from '../../helpers/wait.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import { tempDir } from '../../helpers/temp.js';
import { main as proxyCommand } from '../../../controllers/proxy/cli.js';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.stop();
});

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

const sdk = (address: string, key: string): OpenAI =>
  new OpenAI({ apiKey: key, baseURL: `${address}/v1`, maxRetries: 0 });

describe('proxy lifecycle', () => {
  it('fails closed while a key reference is unset: Ready=False SecretUnset naming it, nothing listening', async () => {
    delete process.env.PROXY_LC_UNSET;
    const port = await freePort();
    await h.load({ 'proxy.yaml': proxyYaml('p', `port: ${port}\nkeys:\n  - valueFrom: {env: PROXY_LC_UNSET}`) });
    const r = await h.reconcile('p');
    expect(r.conditions.get('Ready')).toMatchObject({ status: 'False', reason: 'SecretUnset' });
    expect(r.conditions.get('Ready')?.message).toContain('env PROXY_LC_UNSET');
    expect(r.observed.address).toBeNull();
    expect(await refused(port)).toBe(true);

    process.env.PROXY_LC_UNSET = 'sk-now-set-0001';
    const ok = await h.reconcile('p');
    expect(ok.conditions.get('Ready')?.reason).toBe('Listening');
    expect((await sdk(String(ok.observed.address), 'sk-now-set-0001').models.list()).data).toEqual([]);

    // Unset again (an empty value counts as unset): the running listener stops serving.
    process.env.PROXY_LC_UNSET = '';
    const closed = await h.reconcile('p');
    expect(closed.conditions.get('Ready')).toMatchObject({ status: 'False', reason: 'SecretUnset' });
    expect(JSON.stringify([...closed.conditions.values()])).not.toContain('sk-now-set-0001');
    // The listener closes after the reconcile returns: poll until connections are refused.
    await eventually(async () => expect(await refused(port)).toBe(true));
  });

  it('rotates file-based keys on the next reconcile without restarting the listener', async () => {
    const port = await freePort();
    await h.load({
      'secrets/proxy.key': 'sk-file-key-A\n',
      'proxy.yaml': proxyYaml('p', `port: ${port}\nkeys:\n  - valueFrom: {file: secrets/proxy.key}`),
    });
    const first = await h.reconcile('p');
    const address = String(first.observed.address);
    const listener = h.proxy.listenerOf('p');
    expect((await sdk(address, 'sk-file-key-A').models.list()).object).toBe('list');

    writeFileSync(join(h.dir, 'secrets/proxy.key'), 'sk-file-key-B\n');
    const second = await h.reconcile('p');
    expect(second.events.map((e) => e.reason)).toContain('KeysRotated');
    expect(h.proxy.listenerOf('p')).toBe(listener);
    const old = (await sdk(address, 'sk-file-key-A')
      .models.list()
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(old.status).toBe(401);
    expect((await sdk(address, 'sk-file-key-B').models.list()).object).toBe('list');
  });

  it('refuses a public bind without TLS, terminally (PublicBindWithoutTLS), unless allowPublicBind', async () => {
    process.env.PROXY_LC_KEY = 'sk-lc-key-0001';
    await h.load({ 'proxy.yaml': proxyYaml('p', `port: 0\nkeys:\n  - valueFrom: {env: PROXY_LC_KEY}`) });
    // The loader rejects this spec, so the resource is edited by hand to reach the controller's own check.
    const loaded = h.snapshot.resources.get('Proxy/p') as Resource<'Proxy'>;
    const pub: Resource<'Proxy'> = { ...loaded, spec: { ...loaded.spec, bind: '0.0.0.0' } };
    h.snapshot = { revision: 'manual', resources: new Map([['Proxy/p', pub]]) };
    const r = await h.reconcile('p');
    // Only a spec change can fix it: a terminal result, no requeue; the loop writes Stalled=True.
    expect(r.terminal).toMatchObject({ reason: 'PublicBindWithoutTLS', message: expect.stringContaining('0.0.0.0') });
    expect(r.requeueAfter).toBeUndefined();
    expect(r.observed).toMatchObject({ address: null, listening: false });
    expect(h.proxy.listenerOf('p')).toBeUndefined();

    h.snapshot = {
      revision: 'manual2',
      resources: new Map([['Proxy/p', { ...pub, spec: { ...pub.spec, allowPublicBind: true } }]]),
    };
    const allowed = await h.reconcile('p');
    expect(allowed.conditions.get('Ready')?.reason).toBe('Listening');
    expect(String(allowed.observed.address)).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
  });

  it('reports PortInUse while another process holds the port and binds once it is free', async () => {
    process.env.PROXY_LC_KEY = 'sk-lc-key-0001';
    const squatter = createServer();
    const port = await new Promise<number>((r) =>
      squatter.listen(0, '127.0.0.1', () => r((squatter.address() as { port: number }).port)),
    );
    await h.load({ 'proxy.yaml': proxyYaml('p', `port: ${port}\nkeys:\n  - valueFrom: {env: PROXY_LC_KEY}`) });
    const busy = await h.reconcile('p');
    expect(busy.conditions.get('Ready')).toMatchObject({ status: 'False', reason: 'PortInUse' });
    expect(busy.requeueAfter).toBe(200);
    await new Promise<void>((r) => squatter.close(() => r()));
    const ok = await h.reconcile('p');
    expect(ok.conditions.get('Ready')?.reason).toBe('Listening');
    expect(ok.observed.address).toBe(`http://127.0.0.1:${port}`);
  });

  it('keeps serving the previous port while the new one is taken, and moves once it is free', async () => {
    process.env.PROXY_LC_KEY = 'sk-lc-key-0001';
    const p1 = await freePort();
    const squatter = createServer();
    const p2 = await new Promise<number>((r) =>
      squatter.listen(0, '127.0.0.1', () => r((squatter.address() as { port: number }).port)),
    );
    await h.load({ 'proxy.yaml': proxyYaml('p', `port: ${p1}\nkeys:\n  - valueFrom: {env: PROXY_LC_KEY}`) });
    await h.reconcile('p');
    await h.load({ 'proxy.yaml': proxyYaml('p', `port: ${p2}\nkeys:\n  - valueFrom: {env: PROXY_LC_KEY}`) });
    const blocked = await h.reconcile('p');
    expect(blocked.conditions.get('Ready')).toMatchObject({ status: 'False', reason: 'PortInUse' });
    expect(blocked.conditions.get('Ready')?.message).toContain(
      `still serving the previous address http://127.0.0.1:${p1}`,
    );
    expect(blocked.observed.address).toBe(`http://127.0.0.1:${p1}`);
    expect((await sdk(`http://127.0.0.1:${p1}`, 'sk-lc-key-0001').models.list()).object).toBe('list');
    await new Promise<void>((r) => squatter.close(() => r()));
    const moved = await h.reconcile('p');
    expect(moved.observed.address).toBe(`http://127.0.0.1:${p2}`);
    expect(await refused(p1)).toBe(true);
  });

  it('moves to a new port: a request in flight on the old one completes, new ones succeed on the new one', async () => {
    process.env.PROXY_LC_KEY = 'sk-lc-key-0001';
    const [p1, p2] = [await freePort(), await freePort()];
    // The skill runs until the test lets it end, after the move: it is surely in flight then.
    const gate = join(tempDir(), 'go');
    const skill = skillYaml('slow', `while [ ! -e ${gate} ]; do sleep 0.05; done; echo slow-done`);
    await h.load({
      'skills/slow.yaml': skill,
      'proxy.yaml': proxyYaml('p', `port: ${p1}\nkeys:\n  - valueFrom: {env: PROXY_LC_KEY}`),
    });
    const first = await h.reconcile('p');
    const oldClient = sdk(String(first.observed.address), 'sk-lc-key-0001');
    const inFlight = oldClient.chat.completions.create({
      model: 'skill/slow',
      messages: [{ role: 'user', content: '{}' }],
    });
    // In flight: the skill has started on the old listener.
    const runs = new RunStore(h.deps.store);
    await waitFor(() => runs.list({ name: 'slow', limit: 1 }).find((r) => r.status === 'running'), 15_000, 'the run');

    await h.load({ 'proxy.yaml': proxyYaml('p', `port: ${p2}\nkeys:\n  - valueFrom: {env: PROXY_LC_KEY}`) });
    const moved = await h.reconcile('p');
    expect(moved.conditions.get('Ready')?.reason).toBe('Listening');
    expect(moved.observed.address).toBe(`http://127.0.0.1:${p2}`);
    expect(moved.events.map((e) => e.reason)).toContain('ListenerMoved');
    expect((await sdk(`http://127.0.0.1:${p2}`, 'sk-lc-key-0001').models.list()).data.map((m) => m.id)).toEqual([
      'skill/slow',
    ]);
    expect(await refused(p1)).toBe(true);
    writeFileSync(gate, '');
    const done = await inFlight;
    expect(done.choices[0]?.message.content?.trim()).toBe('slow-done');
  });

  it('restarts a listener that died on the next reconcile, and stops it when the resource is pruned', async () => {
    process.env.PROXY_LC_KEY = 'sk-lc-key-0001';
    const port = await freePort();
    await h.load({ 'proxy.yaml': proxyYaml('p', `port: ${port}\nkeys:\n  - valueFrom: {env: PROXY_LC_KEY}`) });
    const first = await h.reconcile('p');
    expect(first.requeueAfter).toBe(30_000);
    const dying = h.proxy.listenerOf('p');
    await new Promise<void>((r) => dying?.server.close(() => r()));
    expect(await refused(port)).toBe(true);

    const healed = await h.reconcile('p');
    expect(healed.events.map((e) => e.reason)).toContain('ListenerDied');
    expect(healed.conditions.get('Ready')?.reason).toBe('Listening');
    expect((await sdk(`http://127.0.0.1:${port}`, 'sk-lc-key-0001').models.list()).object).toBe('list');

    h.snapshot = { revision: 'pruned', resources: new Map() };
    await h.reconcile('p');
    expect(h.proxy.listenerOf('p')).toBeUndefined();
    expect(await refused(port)).toBe(true);
  });

  it('serves TLS from cert and key files and reloads a changed certificate without a new listener', async () => {
    process.env.PROXY_LC_KEY = 'sk-lc-key-0001';
    const makeCert = (cn: string): void => {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(h.dir, 'tls.key'),
          '-out',
          join(h.dir, 'tls.crt'),
          '-days',
          '1',
          '-subj',
          `/CN=${cn}`,
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
    };
    makeCert('first');
    const port = await freePort();
    await h.load({
      'proxy.yaml': proxyYaml(
        'p',
        `port: ${port}\nkeys:\n  - valueFrom: {env: PROXY_LC_KEY}\ntls:\n  cert: tls.crt\n  key: tls.key`,
      ),
    });
    const r = await h.reconcile('p');
    expect(r.observed.address).toBe(`https://127.0.0.1:${port}`);
    const listener = h.proxy.listenerOf('p');

    const call = async (): Promise<number> => {
      const agent = new Agent({ connect: { ca: readFileSync(join(h.dir, 'tls.crt')) } });
      try {
        const res = await request(`https://127.0.0.1:${port}/v1/models`, {
          headers: { authorization: 'Bearer sk-lc-key-0001' },
          dispatcher: agent,
        });
        await res.body.text();
        return res.statusCode;
      } finally {
        await agent.close();
      }
    };
    const peerCN = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          resolve(String(s.getPeerCertificate().subject.CN));
          s.destroy();
        });
        s.once('error', reject);
      });
    expect(await call()).toBe(200);
    expect(await peerCN()).toBe('first');

    makeCert('second');
    const reloaded = await h.reconcile('p');
    expect(reloaded.events.map((e) => e.reason)).toContain('TLSReloaded');
    expect(h.proxy.listenerOf('p')).toBe(listener);
    expect(await peerCN()).toBe('second');
    expect(await call()).toBe(200);

    // `caduceus proxy test` trusts the self-signed certificate it is given with --ca.
    process.env.PROXY_LC_CLI_KEY = 'sk-lc-key-0001';
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    const code = await proxyCommand([
      'test',
      '--url',
      `https://127.0.0.1:${port}`,
      '--key-env',
      'PROXY_LC_CLI_KEY',
      '--ca',
      join(h.dir, 'tls.crt'),
    ]).finally(() => spy.mockRestore());
    expect(code).toBe(0);
    expect(out).toContain('status:     200');
  });
});
