// The example's first start, as `npm start` runs it: `caduceus up` on a copy of
// examples/repo in its own git repository, with no secret set. It reports the one resource
// that is not Ready with the command that fixes it, generates the proxy's key into the
// state directory (0600) and prints how to use it; `caduceus proxy test` and the `openai`
// SDK work with that key at once; a restart keeps the key; and /metrics passes
// `promtool check metrics` with Node's standard metric names.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { GIT_ENV, git } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { freePort } from '../controllers/proxy/harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'app', 'cli.js');
const children: ChildProcess[] = [];
let work: string;
let repo: string;
let state: string;
let proxyPort: number;

/** The environment of a newcomer: none of the example's secrets set. */
function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...GIT_ENV };
  for (const k of ['DISCORD_PUBLIC_KEY', 'CADUCEUS_PROXY_KEY', 'CADUCEUS_WEBHOOK_SECRET', 'NO_COLOR']) delete e[k];
  return e;
}

/** Starts `up` and resolves once its start-up report (the generated key's lines) is out. */
function up(): Promise<{ child: ChildProcess; url: string; logs: () => string }> {
  const child = spawn(process.execPath, [CLI, 'up', repo, '--state-dir', state, '--listen', '127.0.0.1:0'], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let logs = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (b: Buffer) => {
      logs += b.toString();
      const url = /caduceus is up\s+url=(\S+)/.exec(logs)?.[1];
      if (url && logs.includes('caduceus proxy test')) resolve({ child, url, logs: () => logs });
    });
    child.once('exit', (code) => reject(new Error(`caduceus up exited with ${code}:\n${logs}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: work, env: env(), encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  work = tempDir('caduceus-first-start-');
  repo = join(work, 'config');
  state = join(work, 'state');
  cpSync(join(ROOT, 'examples', 'repo'), repo, { recursive: true });
  // The example's port 8080 may be taken on a test machine; everything else is as shipped.
  proxyPort = await freePort();
  const proxy = join(repo, 'proxy.yaml');
  writeFileSync(proxy, readFileSync(proxy, 'utf8').replace('port: 8080', `port: ${proxyPort}`));
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'example');
});
afterAll(async () => {
  for (const c of children) await stop(c);
  rmSync(work, { recursive: true, force: true });
});

describe('npm start on the example', () => {
  let app: Awaited<ReturnType<typeof up>>;
  beforeAll(async () => {
    app = await up();
  });

  it('reports each resource that is not Ready on one line with the command that fixes it', () => {
    const notReady = app
      .logs()
      .split('\n')
      .filter((l) => / WARN .* is not ready /.test(l));
    expect(notReady).toEqual([
      expect.stringMatching(
        /WARN {2}GatewayPolicy\/team-gateway is not ready {2}reason=SecretUnset fix="export DISCORD_PUBLIC_KEY=/,
      ),
    ]);
    expect(app.logs()).toContain('WARN  1 resource(s) not ready; each with what fixes it');
  });

  it('generates the proxy key into the state directory, private, and prints how to use it', () => {
    const file = join(state, 'secrets', 'team-proxy-key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(state, 'secrets')).mode & 0o777).toBe(0o700);
    const key = readFileSync(file, 'utf8').trim();
    expect(key).toMatch(/^sk-caduceus-[A-Za-z0-9_-]{32}$/);
    expect(app.logs()).toContain(
      `    export OPENAI_BASE_URL=http://127.0.0.1:${proxyPort}/v1 OPENAI_API_KEY="$(cat ${file})"\n`,
    );
    expect(app.logs()).toContain(`    caduceus proxy test --endpoint /v1/chat/completions --state-dir ${state}\n`);
    expect(app.logs()).not.toContain(key);
  });

  it('passes caduceus proxy test out of the box, on the model list and on a chat completion', () => {
    const models = cli(['proxy', 'test', '--state-dir', state]);
    expect(models.stderr).toBe('');
    expect(models.code).toBe(0);
    expect(models.stdout).toContain('status:     200');
    const chat = cli(['proxy', 'test', '--state-dir', state, '--endpoint', '/v1/chat/completions']);
    expect(chat.code).toBe(0);
    expect(chat.stdout).toContain('(model skill/incident-summary)');
    expect(chat.stdout).toContain('4 incident(s): 2 resolved 1 monitoring 1 open');
  });

  it('serves the openai SDK with the generated key', async () => {
    const key = readFileSync(join(state, 'secrets', 'team-proxy-key'), 'utf8').trim();
    const client = new OpenAI({ apiKey: key, baseURL: `http://127.0.0.1:${proxyPort}/v1` });
    const res = await client.chat.completions.create({
      model: 'skill/log-search',
      messages: [{ role: 'user', content: '{"pattern": "src=203\\\\.0\\\\.113\\\\.7", "limit": 1}' }],
    });
    expect(res.choices[0]?.message.content?.split('\n')[0]).toBe(
      '9 match(es) for /src=203\\.0\\.113\\.7/ in all log(s)',
    );
  });

  const promtool = spawnSync('promtool', ['--version']).status === 0;
  it.skipIf(!promtool && process.env.CI !== 'true')(
    'serves /metrics that promtool check metrics accepts, with standard Node names and the git fetch time',
    async () => {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(check.stdout + check.stderr).toBe('');
      expect(check.status).toBe(0);
      expect(text).toMatch(/^process_cpu_seconds_total \d/m);
      expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
      expect(text).not.toContain('caduceus_process_');
      const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]);
      expect(types.filter(([n, t]) => n.endsWith('_total') !== (t === 'counter'))).toEqual([]);
      const fetched = Number(/^caduceus_git_last_successful_fetch_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
      expect(Math.abs(Date.now() / 1000 - fetched)).toBeLessThan(600);
    },
  );

  it('keeps the key across a restart and generates nothing new', async () => {
    const file = join(state, 'secrets', 'team-proxy-key');
    const key = readFileSync(file, 'utf8');
    await stop(app.child);
    const again = await up();
    expect(readFileSync(file, 'utf8')).toBe(key);
    expect(cli(['proxy', 'test', '--state-dir', state]).code).toBe(0);
    const events = cli(['events', '--state-dir', state, '--json']);
    const generated = (JSON.parse(events.stdout) as Array<{ reason: string }>).filter(
      (e) => e.reason === 'KeyGenerated',
    );
    expect(generated).toHaveLength(1);
    await stop(again.child);
  });
});

describe('a Proxy that names its own key', () => {
  it('never gets a generated key: it fails closed and says which variable to set', async () => {
    writeFileSync(
      join(repo, 'proxy.yaml'),
      readFileSync(join(repo, 'proxy.yaml'), 'utf8').replace('generated: team-proxy-key', 'env: CADUCEUS_PROXY_KEY'),
    );
    git(repo, 'commit', '-q', '-am', 'own key');
    rmSync(state, { recursive: true, force: true });
    const child = spawn(process.execPath, [CLI, 'up', repo, '--state-dir', state, '--listen', '127.0.0.1:0'], {
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let logs = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (b: Buffer) => {
        logs += b.toString();
        if (/resource\(s\) not ready/.test(logs) && (logs.match(/ is not ready /g) ?? []).length >= 2) resolve();
      });
      child.once('exit', () => reject(new Error(logs)));
    });
    expect(logs).toMatch(
      /Proxy\/team-proxy is not ready {2}reason=SecretUnset fix="export CADUCEUS_PROXY_KEY=<the secret>/,
    );
    expect(existsSync(join(state, 'secrets'))).toBe(false);
    expect(logs).not.toContain('with a generated key');
    await stop(child);
  });
});
