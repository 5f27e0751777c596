// Benchmark of the proxy (issue 6), run with:
//   npm run build && node dist/bench/proxy.js
// One loopback upstream (a child process speaking Chat Completions, JSON and SSE) and the
// proxy (another child process, the real controller reconciled from a loaded Proxy
// resource). In the same run, for non-streaming and streaming requests:
//   1. throughput with autocannon: the upstream directly vs through the proxy (ratio), and
//      a bare undici pass-through proxy as the floor any Node proxy starts from;
//   2. sequential p50 latency over one keep-alive connection: added by the proxy;
//   3. time to the first streamed byte: added by the proxy.
// Results are appended to bench/RESULTS.md.

import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';

const KEY = 'sk-bench-proxy-key';
const UPSTREAM_KEY = 'sk-bench-upstream-key';
const PLAIN = JSON.stringify({ model: 'gpt-bench', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }] });
const STREAM = JSON.stringify({ model: 'gpt-bench', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }], stream: true });
/** The same upstream taking 20 ms per answer, as a (very fast) model would: latency-bound, not CPU-bound. */
const THINK_MS = 20;
const PLAIN_THINK = JSON.stringify({ model: 'gpt-bench-think', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }] });
const STREAM_THINK = JSON.stringify({ model: 'gpt-bench-think', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }], stream: true });

// ---- child: the loopback upstream -------------------------------------------------------
function runUpstream(): void {
  const base = { id: 'chatcmpl-bench', created: 1700000000, model: 'gpt-bench', system_fingerprint: 'fp_bench' };
  const answer = JSON.stringify({
    ...base,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 14, completion_tokens: 9, total_tokens: 23 },
  });
  const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  const words = ['Hello!', ' How', ' can', ' I', ' help', ' you', ' today?'];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${UPSTREAM_KEY}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"bad key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}');
        return;
      }
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-bench', object: 'model', created: 1700000000, owned_by: 'bench' }] }));
        return;
      }
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { stream?: boolean; model?: string };
      if (body.model === 'gpt-bench-think') {
        setTimeout(() => reply(res, body.stream === true), THINK_MS);
        return;
      }
      reply(res, body.stream === true);
    });
  });
  const reply = (res: import('node:http').ServerResponse, stream: boolean): void => {
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(chunk({ role: 'assistant', content: '' }, null));
    // The rest follows a little later, as a model's tokens would: time to first byte is
    // then the time of the first chunk alone.
    setTimeout(() => {
      for (const w of words) res.write(chunk({ content: w }, null));
      res.write(chunk({}, 'stop'));
      res.end('data: [DONE]\n\n');
    }, 2);
  };
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
}

// ---- child: a bare pass-through proxy, the floor any Node proxy starts from ----------------
function runBareProxy(upstreamURL: string): void {
  const u = new URL(upstreamURL);
  const pool = new Pool(u.origin, { connections: 256 });
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      JSON.parse(body.toString('utf8'));
      pool
        .request({ method: 'POST', path: `${u.pathname}/chat/completions`, headers: { 'content-type': 'application/json', authorization: `Bearer ${UPSTREAM_KEY}` }, body })
        .then(async (r) => {
          const answer = Buffer.from(await r.body.arrayBuffer());
          res.writeHead(r.statusCode, { 'content-type': 'application/json', 'content-length': answer.length });
          res.end(answer);
        })
        .catch(() => res.destroy());
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
}

// ---- child: the proxy ---------------------------------------------------------------------
async function runProxy(upstreamURL: string): Promise<void> {
  const [{ loadDirectory }, { register }, { StateStore }, { silentLogger }, { Registry }] = await Promise.all([
    import('../reconciler/loader.js'),
    import('../controllers/proxy/index.js'),
    import('../reconciler/state/store.js'),
    import('../reconciler/log.js'),
    import('prom-client'),
  ]);
  process.env.BENCH_PROXY_KEY = KEY;
  process.env.BENCH_UPSTREAM_KEY = UPSTREAM_KEY;
  const dir = mkdtempSync(join(tmpdir(), 'cad-bench-proxy-'));
  writeFileSync(
    join(dir, 'proxy.yaml'),
    `apiVersion: caduceus.dev/v1
kind: Proxy
metadata:
  name: bench
spec:
  port: 0
  keys:
    - valueFrom: {env: BENCH_PROXY_KEY}
  upstream:
    baseURL: ${upstreamURL}
    apiKey: {valueFrom: {env: BENCH_UPSTREAM_KEY}}
  limits:
    requestsPerMinute: 100000000
`,
  );
  const { resources, findings } = await loadDirectory(dir);
  if (findings.some((f) => f.severity === 'error')) throw new Error(JSON.stringify(findings));
  const snapshot = { revision: 'bench', resources: new Map(resources.map((r) => [`${r.kind}/${r.metadata.name}`, r])) };
  // Only upstream models are measured; compose.ts is not imported so no other controller loads.
  const none = (): Promise<never> => Promise.reject(new Error('no runner in the proxy benchmark'));
  const runner = { runSkill: none, runTask: none, exec: none };
  const reg = register({ store: new StateStore({ stateDir: mkdtempSync(join(tmpdir(), 'cad-bench-proxy-state-')) }), log: silentLogger, stateDir: dir, snapshot: () => snapshot, runner, metrics: new Registry(), configDir: dir });
  const observed: Record<string, unknown> = {};
  const controller = reg.controllers[0];
  if (!controller) throw new Error('proxy registered no controller');
  await controller.reconcile(
    {
      key: 'Proxy/bench',
      revision: 'bench',
      snapshot,
      signal: new AbortController().signal,
      log: silentLogger,
      setCondition: () => undefined,
      setObserved: (f) => Object.assign(observed, f),
      event: () => undefined,
    },
    snapshot.resources.get('Proxy/bench'),
    { status: undefined },
  );
  process.send?.({ address: observed.address });
}

// ---- parent: measurements -------------------------------------------------------------------
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; average: number };
  errors: number;
  non2xx: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

function start(args: string[]): Promise<{ child: ChildProcess; msg: Record<string, unknown> }> {
  // BENCH_PROFILE=DIR writes a CPU profile of the proxy process there, to see where time goes.
  const prof = process.env.BENCH_PROFILE && args[0] === 'proxy' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = fork(import.meta.filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: prof });
  return new Promise((resolve, reject) => {
    child.once('message', (msg) => resolve({ child, msg: msg as Record<string, unknown> }));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

async function load(autocannon: Autocannon, url: string, key: string, body: string): Promise<AutocannonResult> {
  return autocannon({
    url: `${url}/chat/completions`,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
    connections: 32,
    duration: 6,
  });
}

/** Sequential requests over one keep-alive connection: total time and time to first body byte. */
async function sequential(url: string, key: string, body: string, n: number): Promise<{ total: number[]; firstByte: number[] }> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 1 });
  const total: number[] = [];
  const firstByte: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await pool.request({ method: 'POST', path: `${u.pathname}/chat/completions`, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
    let first: number | undefined;
    for await (const _ of res.body) if (first === undefined) first = performance.now() - t;
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    if (i >= n / 10) {
      // The first tenth warms up connections and the JIT.
      total.push(performance.now() - t);
      firstByte.push(first ?? NaN);
    }
  }
  await pool.close();
  return { total, firstByte };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const up = await start(['upstream']);
  const upstreamURL = `http://127.0.0.1:${String(up.msg.port)}/v1`;
  const px = await start(['proxy', upstreamURL]);
  const proxyURL = `${String(px.msg.address)}/v1`;
  const bare = await start(['bare', upstreamURL]);
  const bareURL = String(bare.msg.address);
  try {
    // Warm both paths before measuring.
    await sequential(upstreamURL, UPSTREAM_KEY, PLAIN, 300);
    await sequential(proxyURL, KEY, PLAIN, 300);

    const direct = await load(autocannon, upstreamURL, UPSTREAM_KEY, PLAIN);
    const proxied = await load(autocannon, proxyURL, KEY, PLAIN);
    const directS = await load(autocannon, upstreamURL, UPSTREAM_KEY, STREAM);
    const proxiedS = await load(autocannon, proxyURL, KEY, STREAM);
    const bareP = await load(autocannon, bareURL, 'unused', PLAIN);
    const directT = await load(autocannon, upstreamURL, UPSTREAM_KEY, PLAIN_THINK);
    const proxiedT = await load(autocannon, proxyURL, KEY, PLAIN_THINK);
    const directTS = await load(autocannon, upstreamURL, UPSTREAM_KEY, STREAM_THINK);
    const proxiedTS = await load(autocannon, proxyURL, KEY, STREAM_THINK);
    for (const r of [direct, proxied, bareP, directS, proxiedS, directT, proxiedT, directTS, proxiedTS]) if (r.errors > 0 || r.non2xx > 0) throw new Error(`load run had ${r.errors} errors, ${r.non2xx} non-2xx`);

    const seqDirect = await sequential(upstreamURL, UPSTREAM_KEY, PLAIN, 2000);
    const seqProxied = await sequential(proxyURL, KEY, PLAIN, 2000);
    const seqDirectS = await sequential(upstreamURL, UPSTREAM_KEY, STREAM, 1000);
    const seqProxiedS = await sequential(proxyURL, KEY, STREAM, 1000);

    const ratio = proxied.requests.average / direct.requests.average;
    const ratioS = proxiedS.requests.average / directS.requests.average;
    const addedP50 = median(seqProxied.total) - median(seqDirect.total);
    const addedTtfb = median(seqProxiedS.firstByte) - median(seqDirectS.firstByte);
    const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
    const f = (n: number, d = 2): string => n.toFixed(d);
    const lines = [
      '',
      `## Proxy (issue 6) — ${new Date().toISOString().slice(0, 10)}`,
      '',
      'Command: `npm run build && node dist/bench/proxy.js`',
      `Machine: ${machine}. Upstream, proxy and load generator are three processes on this machine.`,
      'Load: autocannon, 32 connections, 6 s per run, POST /v1/chat/completions (JSON answer of 330 bytes; SSE stream of 10 chunks).',
      `"no-op upstream" answers at once, so the run is CPU-bound and the proxy competes with the upstream and the load generator for the same 2 cores; "${THINK_MS} ms upstream" is the same server answering after ${THINK_MS} ms, as a fast model would.`,
      'Latency: 2,000 (plain) / 1,000 (stream) sequential requests on one keep-alive connection, first tenth discarded, medians.',
      '',
      '| measure | through the proxy | upstream directly | result | target |',
      '|---|---|---|---|---|',
      `| throughput, non-streaming, no-op upstream | ${Math.round(proxied.requests.average).toLocaleString('en')} req/s | ${Math.round(direct.requests.average).toLocaleString('en')} req/s | ratio ${f(ratio)} | ≥ 0.80 |`,
      `| throughput, non-streaming, no-op upstream, bare 20-line undici pass-through proxy (no auth, metrics, ids) | ${Math.round(bareP.requests.average).toLocaleString('en')} req/s | ${Math.round(direct.requests.average).toLocaleString('en')} req/s | ratio ${f(bareP.requests.average / direct.requests.average)} (Caduceus/bare: ${f(proxied.requests.average / bareP.requests.average)}) | |`,
      `| throughput, streaming, no-op upstream | ${Math.round(proxiedS.requests.average).toLocaleString('en')} req/s | ${Math.round(directS.requests.average).toLocaleString('en')} req/s | ratio ${f(ratioS)} | ≥ 0.80 |`,
      `| throughput, non-streaming, ${THINK_MS} ms upstream | ${Math.round(proxiedT.requests.average).toLocaleString('en')} req/s | ${Math.round(directT.requests.average).toLocaleString('en')} req/s | ratio ${f(proxiedT.requests.average / directT.requests.average)} | ≥ 0.80 |`,
      `| throughput, streaming, ${THINK_MS} ms upstream | ${Math.round(proxiedTS.requests.average).toLocaleString('en')} req/s | ${Math.round(directTS.requests.average).toLocaleString('en')} req/s | ratio ${f(proxiedTS.requests.average / directTS.requests.average)} | ≥ 0.80 |`,
      `| p50 latency under load (autocannon), non-streaming | ${f(proxied.latency.p50, 1)} ms | ${f(direct.latency.p50, 1)} ms | +${f(proxied.latency.p50 - direct.latency.p50, 1)} ms | |`,
      `| p50 latency, sequential, non-streaming | ${f(median(seqProxied.total), 3)} ms | ${f(median(seqDirect.total), 3)} ms | +${f(addedP50, 3)} ms | < 1 ms added |`,
      `| time to first streamed byte, sequential | ${f(median(seqProxiedS.firstByte), 3)} ms | ${f(median(seqDirectS.firstByte), 3)} ms | +${f(addedTtfb, 3)} ms | < 2 ms added |`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
    // BENCH_NO_WRITE=1 prints without appending (trial runs on a busy machine).
    if (!process.env.BENCH_NO_WRITE) appendFileSync(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), lines.join('\n'));
  } finally {
    up.child.kill();
    px.child.kill();
    bare.child.kill();
  }
}

const role = process.argv[2];
// A normal exit on SIGTERM lets --cpu-prof write its profile.
if (role) process.on('SIGTERM', () => process.exit(0));
if (role === 'upstream') runUpstream();
else if (role === 'proxy') await runProxy(process.argv[3] as string);
else if (role === 'bare') runBareProxy(process.argv[3] as string);
else await main();
