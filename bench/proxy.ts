// Benchmark of the proxy (issue 6), run with:
//   npm run build && node dist/bench/proxy.js
// Four processes: the load generator (autocannon, in this parent), a loopback upstream
// speaking Chat Completions (JSON and SSE), the real proxy controller reconciled from a
// loaded Proxy resource, and a bare undici pass-through proxy. In the same run, for
// non-streaming and streaming requests:
//   1. throughput with autocannon: the upstream directly vs through the proxy (ratio), in
//      alternating rounds, unpinned and then pinned (load generator + upstream on CPU 0, the
//      proxy alone on CPU 1), plus a 20 ms upstream; CPU µs per request of every process;
//   2. sequential p50 latency over one keep-alive connection: added by the proxy;
//   3. time to the first streamed byte: added by the proxy.
// Results are appended to bench/RESULTS.md (BENCH_NO_WRITE=1: print only).

import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { row } from './markdown.js';

const KEY = 'sk-bench-proxy-key';
const UPSTREAM_KEY = 'sk-bench-upstream-key';
const PLAIN = JSON.stringify({
  model: 'gpt-bench',
  messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
});
const STREAM = JSON.stringify({
  model: 'gpt-bench',
  messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
  stream: true,
});
/** The same upstream taking 20 ms per answer, as a (very fast) model would: latency-bound, not CPU-bound. */
const THINK_MS = 20;
const PLAIN_THINK = JSON.stringify({
  model: 'gpt-bench-think',
  messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
});
const STREAM_THINK = JSON.stringify({
  model: 'gpt-bench-think',
  messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
  stream: true,
});

// ---- child: the loopback upstream -------------------------------------------------------
function runUpstream(): void {
  const base = { id: 'chatcmpl-bench', created: 1700000000, model: 'gpt-bench', system_fingerprint: 'fp_bench' };
  const answer = JSON.stringify({
    ...base,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello! How can I help you today?', refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 14, completion_tokens: 9, total_tokens: 23 },
  });
  const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
    `data: ${JSON.stringify({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    })}\n\n`;
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
        res.end(
          JSON.stringify({
            object: 'list',
            data: [{ id: 'gpt-bench', object: 'model', created: 1700000000, owned_by: 'bench' }],
          }),
        );
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
        .request({
          method: 'POST',
          path: `${u.pathname}/chat/completions`,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${UPSTREAM_KEY}` },
          body,
        })
        .then(async (r) => {
          const answer = Buffer.from(await r.body.arrayBuffer());
          res.writeHead(r.statusCode, { 'content-type': 'application/json', 'content-length': answer.length });
          res.end(answer);
        })
        .catch(() => res.destroy());
    });
  });
  server.listen(0, '127.0.0.1', () =>
    process.send?.({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
  );
}

// ---- child: the proxy ---------------------------------------------------------------------
async function runProxy(upstreamURL: string): Promise<void> {
  const [{ loadDirectory }, { register }, { StateStore }, { CoreStore }, { silentLogger }, { Registry }] =
    await Promise.all([
      import('../reconciler/loader.js'),
      import('../controllers/proxy/index.js'),
      import('../reconciler/state/store.js'),
      import('../reconciler/state/core-store.js'),
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
  const runner = { runSkill: none, runTask: none, exec: none, proposeSkill: none };
  const store = new StateStore({ stateDir: mkdtempSync(join(tmpdir(), 'cad-bench-proxy-state-')) });
  const reg = register({
    store,
    events: new CoreStore(store),
    log: silentLogger,
    stateDir: dir,
    snapshot: () => snapshot,
    runner,
    metrics: new Registry(),
    configDir: dir,
  });
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
// The parent is the load generator (autocannon) and nothing else while a load runs; the
// upstream, the proxy and the bare proxy are each their own child process. Both arms of a
// comparison use the same upstream process and the same autocannon settings: they differ
// only by the proxy hop. CPU time of every process is read around each run (/proc for the
// children, process.cpuUsage for the parent), so each arm reports CPU µs per request.
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; average: number };
  errors: number;
  non2xx: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

function start(args: string[]): Promise<{ child: ChildProcess; msg: Record<string, unknown> }> {
  // BENCH_PROFILE=DIR writes a CPU profile of the proxy process there, to see where time goes.
  const prof =
    process.env.BENCH_PROFILE && args[0] === 'proxy'
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
      : [];
  const child = fork(import.meta.filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: prof });
  return new Promise((resolve, reject) => {
    child.once('message', (msg) => resolve({ child, msg: msg as Record<string, unknown> }));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux.

/** User + system CPU time of a process in µs, from /proc/<pid>/stat (fields 14 and 15). */
function cpuOfPid(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

interface Procs {
  upstream: ChildProcess;
  proxy: ChildProcess;
  bare: ChildProcess;
}
type CpuSnap = { load: number; upstream: number; proxy: number; bare: number };
function cpuSnap(p: Procs): CpuSnap {
  const u = process.cpuUsage();
  return {
    load: u.user + u.system,
    upstream: cpuOfPid(p.upstream.pid),
    proxy: cpuOfPid(p.proxy.pid),
    bare: cpuOfPid(p.bare.pid),
  };
}

/**
 * Pins processes (every thread: libuv pool and V8 helpers too) to CPUs with taskset. In the
 * pinned arms the load generator and the upstream share CPU 0 and the proxy has CPU 1 to
 * itself, as when the proxy runs on its own machine: then the direct arm is not helped by a
 * core the proxied arm has to share. Other users of the machine are not pinned.
 */
function pin(cpusList: string, ...pids: Array<number | undefined>): void {
  for (const pid of pids)
    if (pid !== undefined) execFileSync('taskset', ['-a', '-p', '-c', cpusList, String(pid)], { stdio: 'ignore' });
}

interface Arm {
  rps: number;
  p50: number;
  /** CPU µs per request of each process, and their sum. */
  cpu: CpuSnap & { total: number };
}

const DURATION_S = Number(process.env.BENCH_DURATION ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function load(autocannon: Autocannon, procs: Procs, url: string, key: string, body: string): Promise<Arm> {
  const before = cpuSnap(procs);
  const r = await autocannon({
    url: `${url}/chat/completions`,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
    connections: 32,
    duration: DURATION_S,
  });
  const after = cpuSnap(procs);
  if (r.errors > 0 || r.non2xx > 0) throw new Error(`load run on ${url} had ${r.errors} errors, ${r.non2xx} non-2xx`);
  const n = r.requests.total;
  const per = (k: keyof CpuSnap): number => (after[k] - before[k]) / n;
  const cpu = { load: per('load'), upstream: per('upstream'), proxy: per('proxy'), bare: per('bare') };
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    cpu: { ...cpu, total: cpu.load + cpu.upstream + cpu.proxy + cpu.bare },
  };
}

/** The run whose throughput is the median of the rounds (rounds alternate which arm goes first). */
function medianArm(arms: Arm[]): Arm {
  return [...arms].sort((a, b) => a.rps - b.rps)[Math.floor(arms.length / 2)] as Arm;
}

/** Sequential requests over one keep-alive connection: total time and time to first body byte. */
async function sequential(
  url: string,
  key: string,
  body: string,
  n: number,
): Promise<{ total: number[]; firstByte: number[] }> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 1 });
  const total: number[] = [];
  const firstByte: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await pool.request({
      method: 'POST',
      path: `${u.pathname}/chat/completions`,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
    });
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
  const procs: Procs = { upstream: up.child, proxy: px.child, bare: bare.child };
  const loadAvg = (): string => loadavg()[0]?.toFixed(2) ?? '?';
  const loadBefore = loadAvg();
  try {
    // Warm every path before measuring.
    await sequential(upstreamURL, UPSTREAM_KEY, PLAIN, 300);
    await sequential(proxyURL, KEY, PLAIN, 300);
    await sequential(proxyURL, KEY, STREAM, 300);
    await sequential(bareURL, 'unused', PLAIN, 300);

    type Runs = { direct: Arm[]; proxied: Arm[]; directS: Arm[]; proxiedS: Arm[]; bare: Arm[] };
    const rounds = async (withBare: boolean): Promise<Runs> => {
      const runs: Runs = { direct: [], proxied: [], directS: [], proxiedS: [], bare: [] };
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which arm goes first so a drift of the machine's load hits both alike.
        const pair = async (a: () => Promise<void>, b: () => Promise<void>): Promise<void> => {
          if (round % 2 === 0) {
            await a();
            await b();
          } else {
            await b();
            await a();
          }
        };
        await pair(
          async () => void runs.direct.push(await load(autocannon, procs, upstreamURL, UPSTREAM_KEY, PLAIN)),
          async () => void runs.proxied.push(await load(autocannon, procs, proxyURL, KEY, PLAIN)),
        );
        await pair(
          async () => void runs.directS.push(await load(autocannon, procs, upstreamURL, UPSTREAM_KEY, STREAM)),
          async () => void runs.proxiedS.push(await load(autocannon, procs, proxyURL, KEY, STREAM)),
        );
        if (withBare) runs.bare.push(await load(autocannon, procs, bareURL, 'unused', PLAIN));
      }
      return runs;
    };
    const runs = await rounds(true);
    const direct = medianArm(runs.direct);
    const proxied = medianArm(runs.proxied);
    const bareP = medianArm(runs.bare);
    const directS = medianArm(runs.directS);
    const proxiedS = medianArm(runs.proxiedS);
    // Pinned: load generator + upstream on CPU 0, proxy alone on CPU 1; then unpinned again.
    let pinned: Runs | undefined;
    if (cpus().length >= 2 && !process.env.BENCH_NO_PIN) {
      pin('0', process.pid, up.child.pid);
      pin('1', px.child.pid, bare.child.pid);
      try {
        pinned = await rounds(false);
      } finally {
        const every = `0-${cpus().length - 1}`;
        pin(every, process.pid, up.child.pid, px.child.pid, bare.child.pid);
      }
    }
    const directT = await load(autocannon, procs, upstreamURL, UPSTREAM_KEY, PLAIN_THINK);
    const proxiedT = await load(autocannon, procs, proxyURL, KEY, PLAIN_THINK);
    const directTS = await load(autocannon, procs, upstreamURL, UPSTREAM_KEY, STREAM_THINK);
    const proxiedTS = await load(autocannon, procs, proxyURL, KEY, STREAM_THINK);

    const seqDirect = await sequential(upstreamURL, UPSTREAM_KEY, PLAIN, 2000);
    const seqProxied = await sequential(proxyURL, KEY, PLAIN, 2000);
    const seqDirectS = await sequential(upstreamURL, UPSTREAM_KEY, STREAM, 1000);
    const seqProxiedS = await sequential(proxyURL, KEY, STREAM, 1000);

    const addedP50 = median(seqProxied.total) - median(seqDirect.total);
    const addedTtfb = median(seqProxiedS.firstByte) - median(seqDirectS.firstByte);
    const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
    const f = (n: number, d = 2): string => n.toFixed(d);
    const rps = (a: Arm): string => `${Math.round(a.rps).toLocaleString('en')} req/s`;
    const us = (n: number): string => Math.round(n).toString();
    const all = (xs: Arm[]): string => xs.map((a) => Math.round(a.rps).toLocaleString('en')).join(' / ');
    /** CPU µs per request: load generator + upstream + hop = total; cores busy = rps × total. */
    const cpuRow = (label: string, a: Arm, hop: 'proxy' | 'bare' | undefined): string =>
      row(
        label,
        us(a.cpu.load),
        us(a.cpu.upstream),
        hop ? us(a.cpu[hop]) : '—',
        us(a.cpu.total),
        f((a.rps * a.cpu.total) / 1e6),
      );
    // If the run is CPU-bound on 2 cores, throughput is inversely proportional to total CPU
    // per request: this is the ratio any proxy costing this much CPU could reach here.
    const ceiling = (d: Arm, p: Arm): number => d.cpu.total / p.cpu.total;
    // With one core per process (a bigger machine), throughput is set by the busiest process.
    const oneCore = (d: Arm, p: Arm, hop: 'proxy' | 'bare'): number =>
      Math.max(d.cpu.load, d.cpu.upstream) / Math.max(p.cpu.load, p.cpu.upstream, p.cpu[hop]);
    const lines = [
      '',
      `## Proxy (issue 6) — ${new Date().toISOString().slice(0, 10)}`,
      '',
      'Command: `npm run build && node dist/bench/proxy.js`',
      `Machine: ${machine}; load average ${loadBefore} before the run, ${loadAvg()} after.`,
      'Processes: the load generator (autocannon, in the parent), the upstream, the Caduceus proxy and a bare ' +
        'proxy are four separate Node processes; only the ones an arm uses are busy during it. "pinned" rows: ' +
        '`taskset` puts the load generator and the upstream on CPU 0 and the proxy alone on CPU 1 (the proxy on ' +
        'its own machine); other rows: no pinning.',
      'The direct arm and the proxied arm use the same upstream process and the same autocannon settings, ' +
        'so they differ only by the proxy hop.',
      `Load: autocannon, 32 connections, ${DURATION_S} s per run, POST /v1/chat/completions ` +
        `(JSON answer of 330 bytes; SSE stream of 10 chunks). No-op arms: ${ROUNDS} rounds, alternating which ` +
        'arm goes first; the median round is shown (all rounds listed in parentheses).',
      `"no-op upstream" answers at once, so those runs are CPU-bound; "${THINK_MS} ms upstream" is the same ` +
        `server answering after ${THINK_MS} ms, as a (very fast) model would.`,
      'Latency: 2,000 (plain) / 1,000 (stream) sequential requests on one keep-alive connection, ' +
        'first tenth discarded, medians.',
      '',
      '| measure | through the proxy | upstream directly | result | target |',
      '|---|---|---|---|---|',
      row(
        'throughput, non-streaming, no-op upstream',
        `${rps(proxied)} (${all(runs.proxied)})`,
        `${rps(direct)} (${all(runs.direct)})`,
        `ratio ${f(proxied.rps / direct.rps)}`,
        '≥ 0.80',
      ),
      row(
        'throughput, streaming, no-op upstream',
        `${rps(proxiedS)} (${all(runs.proxiedS)})`,
        `${rps(directS)} (${all(runs.directS)})`,
        `ratio ${f(proxiedS.rps / directS.rps)}`,
        '≥ 0.80',
      ),
      row(
        'throughput, non-streaming, no-op upstream, bare 20-line undici pass-through instead of Caduceus ' +
          '(no auth, metrics, ids)',
        `${rps(bareP)} (${all(runs.bare)})`,
        rps(direct),
        `ratio ${f(bareP.rps / direct.rps)} (Caduceus/bare: ${f(proxied.rps / bareP.rps)})`,
        '',
      ),
      row(
        `throughput, non-streaming, ${THINK_MS} ms upstream`,
        rps(proxiedT),
        rps(directT),
        `ratio ${f(proxiedT.rps / directT.rps)}`,
        '≥ 0.80',
      ),
      row(
        `throughput, streaming, ${THINK_MS} ms upstream`,
        rps(proxiedTS),
        rps(directTS),
        `ratio ${f(proxiedTS.rps / directTS.rps)}`,
        '≥ 0.80',
      ),
      row(
        'p50 latency under load (autocannon), non-streaming, no-op upstream',
        `${f(proxied.p50, 1)} ms`,
        `${f(direct.p50, 1)} ms`,
        `+${f(proxied.p50 - direct.p50, 1)} ms`,
        '',
      ),
      row(
        'p50 latency, sequential, non-streaming',
        `${f(median(seqProxied.total), 3)} ms`,
        `${f(median(seqDirect.total), 3)} ms`,
        `+${f(addedP50, 3)} ms`,
        '< 1 ms added',
      ),
      row(
        'time to first streamed byte, sequential',
        `${f(median(seqProxiedS.firstByte), 3)} ms`,
        `${f(median(seqDirectS.firstByte), 3)} ms`,
        `+${f(addedTtfb, 3)} ms`,
        '< 2 ms added',
      ),
      ...(pinned
        ? [
            row(
              'pinned (load generator + upstream on CPU 0, proxy alone on CPU 1): throughput, non-streaming, ' +
                'no-op upstream',
              `${rps(medianArm(pinned.proxied))} (${all(pinned.proxied)})`,
              `${rps(medianArm(pinned.direct))} (${all(pinned.direct)})`,
              `ratio ${f(medianArm(pinned.proxied).rps / medianArm(pinned.direct).rps)}`,
              '≥ 0.80',
            ),
            row(
              'pinned: throughput, streaming, no-op upstream',
              `${rps(medianArm(pinned.proxiedS))} (${all(pinned.proxiedS)})`,
              `${rps(medianArm(pinned.directS))} (${all(pinned.directS)})`,
              `ratio ${f(medianArm(pinned.proxiedS).rps / medianArm(pinned.directS).rps)}`,
              '≥ 0.80',
            ),
          ]
        : []),
      '',
      'CPU per request (µs of user + system time, per process, over the median run; ' +
        '"cores busy" = throughput × total CPU per request, out of 2):',
      '',
      '| arm | load generator | upstream | proxy hop | total | cores busy |',
      '|---|---|---|---|---|---|',
      cpuRow('non-streaming, direct', direct, undefined),
      cpuRow('non-streaming, through Caduceus', proxied, 'proxy'),
      cpuRow('non-streaming, through the bare proxy', bareP, 'bare'),
      cpuRow('streaming, direct', directS, undefined),
      cpuRow('streaming, through Caduceus', proxiedS, 'proxy'),
      ...(pinned
        ? [
            cpuRow('pinned, non-streaming, direct', medianArm(pinned.direct), undefined),
            cpuRow('pinned, non-streaming, through Caduceus', medianArm(pinned.proxied), 'proxy'),
            cpuRow('pinned, streaming, direct', medianArm(pinned.directS), undefined),
            cpuRow('pinned, streaming, through Caduceus', medianArm(pinned.proxiedS), 'proxy'),
          ]
        : []),
      cpuRow(`non-streaming, ${THINK_MS} ms upstream, direct`, directT, undefined),
      cpuRow(`non-streaming, ${THINK_MS} ms upstream, through Caduceus`, proxiedT, 'proxy'),
      cpuRow(`streaming, ${THINK_MS} ms upstream, direct`, directTS, undefined),
      cpuRow(`streaming, ${THINK_MS} ms upstream, through Caduceus`, proxiedTS, 'proxy'),
      '',
      'What the CPU figures allow, no-op upstream (derived from the table above, not measured separately):',
      '',
      '| | non-streaming | streaming | bare proxy, non-streaming |',
      '|---|---|---|---|',
      row(
        'CPU-bound ceiling on these 2 cores = direct CPU/request ÷ proxied CPU/request',
        f(ceiling(direct, proxied)),
        f(ceiling(directS, proxiedS)),
        f(ceiling(direct, bareP)),
      ),
      row('measured ratio', f(proxied.rps / direct.rps), f(proxiedS.rps / directS.rps), f(bareP.rps / direct.rps)),
      row(
        'projected ratio with one core per process = busiest process direct ÷ busiest process proxied',
        f(oneCore(direct, proxied, 'proxy')),
        f(oneCore(directS, proxiedS, 'proxy')),
        f(oneCore(direct, bareP, 'bare')),
      ),
      ...(pinned
        ? [
            row(
              'pinned ceiling = (load generator + upstream CPU/request, direct) ÷ proxy CPU/request, capped at 1',
              f(Math.min(1, medianArm(pinned.direct).cpu.total / medianArm(pinned.proxied).cpu.proxy)),
              f(Math.min(1, medianArm(pinned.directS).cpu.total / medianArm(pinned.proxiedS).cpu.proxy)),
              '',
            ),
          ]
        : []),
      '',
    ];
    process.stdout.write(lines.join('\n'));
    // BENCH_NO_WRITE=1 prints without appending (trial runs on a busy machine).
    if (!process.env.BENCH_NO_WRITE)
      appendFileSync(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), lines.join('\n'));
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
