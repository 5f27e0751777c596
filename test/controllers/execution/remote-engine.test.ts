// The docker and swarm modes on an engine reached over tcp:// with TLS, as on another
// machine: the test engine behind a TLS endpoint on a loopback port that, like `dockerd
// --tlsverify`, serves only clients whose certificate its CA signed. openssl makes the
// certificates in a temp dir; the Runtime names them as file references.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { join } from 'node:path';
import { harness, runtime, cli, type Harness } from './helpers.js';
import { dockerReady, runDockerTests, SANDBOX } from './docker-env.js';
import { tempDir } from '../../helpers/temp.js';
import { CaduceusError } from '../../../reconciler/errors.js';

const ready = await dockerReady();
const swarm = ready && execFileSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}']).toString().trim();
const dir = tempDir('caduceus-remote-engine-');

/** A key and a certificate signed by `ca` (or self-signed when ca is undefined). */
function issue(name: string, subject: string, ca?: string, ext?: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`];
  if (!ca) return void ssl('req', '-x509', ...key, '-out', `${name}.pem`, '-days', '1', '-subj', subject);
  ssl('req', ...key, '-out', `${name}.csr`, '-subj', subject);
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  const signer = ['-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial'];
  ssl('x509', '-req', '-in', `${name}.csr`, ...signer, '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
}

let server: Server | undefined;
let port = 0;
/** Connections that presented a certificate the CA signed. */
let authorized = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  if (!ready) return;
  issue('ca', '/CN=caduceus-test-ca');
  issue('server', '/CN=127.0.0.1', 'ca', 'subjectAltName=IP:127.0.0.1');
  issue('client', '/CN=caduceus', 'ca', 'extendedKeyUsage=clientAuth');
  issue('stranger', '/CN=stranger');
  const pem = (f: string) => readFileSync(join(dir, f));
  server = createServer(
    { key: pem('server-key.pem'), cert: pem('server.pem'), ca: pem('ca.pem'), requestCert: true },
    (tlsSocket) => {
      authorized++;
      const engine = connect('/var/run/docker.sock');
      for (const s of [tlsSocket, engine]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          tlsSocket.destroy();
          engine.destroy();
        });
      }
      tlsSocket.pipe(engine).pipe(tlsSocket);
    },
  );
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const file = (f: string) => ({ valueFrom: { file: f } });
const tlsRuntime = (mode: 'docker' | 'swarm', client: string) =>
  runtime({
    execution: {
      mode,
      docker: {
        host: `tcp://127.0.0.1:${port}`,
        tls: { ca: file('ca.pem'), cert: file(`${client}.pem`), key: file(`${client}-key.pem`) },
      },
    },
    isolation: { image: SANDBOX },
  });

describe.runIf(runDockerTests(ready))('a remote engine over tcp:// with TLS', () => {
  it('runs a docker-mode process on the engine behind the TLS endpoint', async () => {
    h = harness([tlsRuntime('docker', 'client')], { configDir: dir });
    const before = authorized;
    const res = await h.runner.exec({ command: 'echo "over tls as $(id -u)"' }, cli);
    expect(res).toMatchObject({ status: 'succeeded', exitCode: 0, output: 'over tls as 65534\n' });
    // It went through the TLS endpoint, not the local socket.
    expect(authorized).toBeGreaterThan(before);
  });

  it.runIf(swarm === 'active' || process.env.CI === 'true')('runs a Swarm job through the same endpoint', async () => {
    h = harness([tlsRuntime('swarm', 'client')], { configDir: dir });
    const before = authorized;
    const res = await h.runner.exec({ command: 'echo job over tls' }, cli);
    expect(res).toMatchObject({ status: 'succeeded', exitCode: 0, output: 'job over tls\n' });
    expect(authorized).toBeGreaterThan(before);
  });

  it('is refused by the engine with a certificate its CA did not sign, and says which engine', async () => {
    h = harness([tlsRuntime('docker', 'stranger')], { configDir: dir });
    const before = authorized;
    const err = await h.runner.exec({ command: 'echo never' }, cli).then(
      () => undefined,
      (e: unknown) => e as CaduceusError,
    );
    expect(err).toBeInstanceOf(CaduceusError);
    expect(err?.code).toBe('DockerUnavailable');
    expect(err?.message).toMatch(new RegExp(`^the Docker engine at tcp://127\\.0\\.0\\.1:${port} does not answer`));
    expect(authorized).toBe(before);
  });
});
