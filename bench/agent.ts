// Benchmark of the agent loop (issue 11), run with:
//   npm run build && node dist/bench/agent.js
// A scripted Chat Completions upstream on 127.0.0.1 answers every request after 20 ms:
// one tool call per turn of a cheap skill (one file step) until 50 calls are made, then
// a final answer. In the same round, the same 51 request bodies are replayed straight to
// the upstream with undici, and the same 50 skill runs made through runner.runSkill
// alone. Reported: the loop's own time per tool call (whole run minus the model calls
// and tool calls it timed) and the ratio of the whole run to upstream + tools measured
// alone. The same bodies are also sent through the openai SDK alone over three
// transports: the loop's (upstream-fetch.ts, undici's request() on a keep-alive Agent),
// Node's bundled fetch (the SDK's default) and undici's fetch with a keep-alive Agent, to
// show the SDK's share per transport. Rounds alternate which side goes first; medians.
// Appended to bench/RESULTS.md.
//
// The Runtime turns skill auto-creation off: a 50-call run would otherwise be proposed as
// a skill after it returned (a 52nd model request for names, the YAML rendered), work that
// is not part of the run and would land in whichever phase is measured next.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { cpus, getPriority, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, Pool, fetch as undiciFetch } from 'undici';
import OpenAI from 'openai';
import { Registry } from 'prom-client';
import { loadDirectory } from '../reconciler/loader.js';
import { compose, lateBoundRunner } from '../app/compose.js';
import { StateStore } from '../reconciler/state/store.js';
import { CoreStore } from '../reconciler/state/core-store.js';
import { silentLogger } from '../reconciler/log.js';
import { keyOf, type Resource, type ResourceKey } from '../reconciler/types.js';
import { register as execution } from '../controllers/execution/index.js';
import { register as agent } from '../controllers/agent/index.js';
import { upstreamFetch } from '../controllers/agent/upstream-fetch.js';
import { replaceSection } from './measure.js';

const loadBefore = loadavg()[0] as number;
const CALLS = 50;
const DELAY_MS = 20;
const ROUNDS = 7;
const KEY = 'bench-key-0123456789';

const upstream = new Worker(new URL('./agent-upstream.js', import.meta.url), {
  workerData: { calls: CALLS, delayMs: DELAY_MS },
});
upstream.on('error', (err) => {
  process.stderr.write(`agent bench: the upstream worker failed: ${String(err)}\n`);
  process.exit(1);
});
const fromUpstream = <T>(): Promise<T> => new Promise<T>((resolve) => upstream.once('message', resolve));
const { port } = await fromUpstream<{ port: number }>();
const origin = `http://127.0.0.1:${port}`;
/** The requests the upstream got since the last call, in order (replays left out). */
async function takeBodies(): Promise<string[]> {
  const answer = fromUpstream<{ bodies: string[] }>();
  upstream.postMessage('take');
  return (await answer).bodies;
}

const dir = mkdtempSync(join(tmpdir(), 'cad-bench-agent-'));
writeFileSync(
  join(dir, 'config.yaml'),
  `apiVersion: caduceus.dev/v1
kind: Runtime
metadata:
  name: default
spec:
  llm:
    baseURL: ${origin}/v1
    model: bench
    apiKey:
      valueFrom:
        env: CADUCEUS_BENCH_KEY
  agent:
    limits:
      maxTurns: 1000
      maxToolCalls: 1000
  skills:
    autoCreate: false
---
apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: stamp
spec:
  version: "1.0.0"
  description: Writes one stamp file
  params:
    - name: n
      type: number
      required: true
  steps:
    - file:
        path: "stamps/\${{ params.n }}.txt"
        action: write
        content: stamped
`,
);
process.env.CADUCEUS_BENCH_KEY = KEY;
const { resources, findings } = await loadDirectory(dir);
if (findings.some((f) => f.severity === 'error')) throw new Error(JSON.stringify(findings));
const map = new Map<ResourceKey, Resource>();
for (const r of resources) map.set(keyOf(r), r);
const stateDir = mkdtempSync(join(tmpdir(), 'cad-bench-agent-state-'));
const store = new StateStore({ stateDir });
const { runner, provide } = lateBoundRunner();
const composition = compose(
  {
    store,
    events: new CoreStore(store),
    log: silentLogger,
    stateDir,
    snapshot: () => ({ revision: 'bench', resources: map }),
    runner,
    metrics: new Registry(),
    configDir: dir,
  },
  provide,
  [execution, agent],
);
const pool = new Pool(origin, { connections: 4 });
const dispatcher = new Agent({ keepAliveTimeout: 30_000 });
type ChatParams = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type SdkFetch = NonNullable<ConstructorParameters<typeof OpenAI>[0]>['fetch'];
const sdkClients = {
  loopFetch: new OpenAI({ baseURL: `${origin}/v1`, apiKey: KEY, maxRetries: 0, fetch: upstreamFetch }),
  nodeFetch: new OpenAI({ baseURL: `${origin}/v1`, apiKey: KEY, maxRetries: 0 }),
  // The cast: undici's Request/Response are its own classes, structurally the DOM ones the SDK names.
  undiciFetch: new OpenAI({
    baseURL: `${origin}/v1`,
    apiKey: KEY,
    maxRetries: 0,
    fetch: ((input: string | URL, init?: Parameters<typeof undiciFetch>[1]) =>
      undiciFetch(input, { ...init, dispatcher })) as unknown as SdkFetch,
  }),
};

interface Round {
  total: number;
  upstream: number;
  tools: number;
  own: number;
  upstreamAlone: number;
  toolsAlone: number;
  ratio: number;
  sdkLoopFetch: number;
  sdkNodeFetch: number;
  sdkUndiciFetch: number;
  bareRaw: number;
  bareSdk: number;
  bareRawRatio: number;
  bareSdkRatio: number;
  toolsPaced: number;
}

async function agentRun(): Promise<{ total: number; upstream: number; tools: number; requests: string[] }> {
  await takeBodies();
  const t0 = performance.now();
  const runAgent = runner.runAgent as NonNullable<typeof runner.runAgent>;
  const r = await runAgent({ prompt: 'make 50 stamps', tools: ['stamp'], trigger: { source: 'bench' } });
  const total = performance.now() - t0;
  if (r.status !== 'succeeded' || r.toolCalls.length !== CALLS) throw new Error(`bench run ${r.status}: ${r.error}`);
  return {
    total,
    upstream: r.turns.reduce((s, t) => s + t.latencyMs, 0),
    tools: r.toolCalls.reduce((s, c) => s + c.durationMs, 0),
    requests: await takeBodies(),
  };
}

/** The same request bodies straight to the upstream, one after the other. */
async function upstreamAlone(requests: string[]): Promise<number> {
  const t0 = performance.now();
  for (const body of requests) {
    const res = await pool.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-replay': '1' },
      body,
    });
    await res.body.json();
  }
  return performance.now() - t0;
}

/** The same request bodies through the SDK alone (parsed back first: the loop hands it objects). */
async function sdkAlone(requests: string[], client: OpenAI): Promise<number> {
  const params = requests.map((b) => JSON.parse(b) as ChatParams);
  const t0 = performance.now();
  for (const p of params) {
    await client.chat.completions.create(p, { headers: { 'x-replay': '1' } });
  }
  return performance.now() - t0;
}

/**
 * The run's turns without the agent loop: each request (raw with undici, or through the
 * SDK over the loop's transport) and then the skill run, one after the other, as the loop
 * interleaves them. Against the baseline, which makes all requests and then all skill
 * runs back to back, this shows what the interleaving itself costs (each skill run starts
 * after a 20 ms wait, each request after file and SQLite work) before any loop code runs.
 */
async function bareTurns(requests: string[], client?: OpenAI): Promise<number> {
  const params = requests.map((b) => JSON.parse(b) as ChatParams);
  const workspace = mkdtempSync(join(tmpdir(), 'cad-bench-agent-ws-'));
  const t0 = performance.now();
  for (let n = 0; n < requests.length; n++) {
    if (client) await client.chat.completions.create(params[n] as ChatParams, { headers: { 'x-replay': '1' } });
    else {
      const res = await pool.request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-replay': '1' },
        body: requests[n] as string,
      });
      await res.body.json();
    }
    if (n < CALLS) {
      const r = await runner.runSkill('stamp', { n }, { trigger: { source: 'bench' }, workspace });
      if (r.status !== 'succeeded') throw new Error(`skill ${r.status}`);
    }
  }
  const ms = performance.now() - t0;
  rmSync(workspace, { recursive: true, force: true });
  return ms;
}

/** The same skill runs through runner.runSkill alone, in one workspace as the agent does. */
async function toolsAlone(): Promise<number> {
  const workspace = mkdtempSync(join(tmpdir(), 'cad-bench-agent-ws-'));
  const t0 = performance.now();
  for (let n = 0; n < CALLS; n++) {
    const r = await runner.runSkill('stamp', { n }, { trigger: { source: 'bench' }, workspace });
    if (r.status !== 'succeeded') throw new Error(`skill ${r.status}`);
  }
  const ms = performance.now() - t0;
  rmSync(workspace, { recursive: true, force: true });
  return ms;
}

/**
 * The same skill runs alone, each started after the upstream's delay as in a run (a timer,
 * no request), timing only the runs: what the tools cost when each meets a machine that
 * has been idle for 20 ms, without the loop or the SDK around them.
 */
async function toolsPaced(): Promise<number> {
  const workspace = mkdtempSync(join(tmpdir(), 'cad-bench-agent-ws-'));
  let ms = 0;
  for (let n = 0; n < CALLS; n++) {
    await new Promise((r) => setTimeout(r, DELAY_MS));
    const t0 = performance.now();
    const r = await runner.runSkill('stamp', { n }, { trigger: { source: 'bench' }, workspace });
    ms += performance.now() - t0;
    if (r.status !== 'succeeded') throw new Error(`skill ${r.status}`);
  }
  rmSync(workspace, { recursive: true, force: true });
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

await agentRun(); // warm-up: JIT, SQLite statements, the SDK's connection
const rounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  let a: Awaited<ReturnType<typeof agentRun>>;
  let up: number;
  let tl: number;
  if (i % 2 === 0) {
    a = await agentRun();
    up = await upstreamAlone(a.requests);
    tl = await toolsAlone();
  } else {
    tl = await toolsAlone();
    a = await agentRun();
    up = await upstreamAlone(a.requests);
  }
  // The three SDK transports in a rotating order, so none is always first after the run.
  const order = (['loopFetch', 'nodeFetch', 'undiciFetch'] as const).map(
    (_, j, all) => all[(i + j) % 3] as (typeof all)[number],
  );
  const sdk: Record<keyof typeof sdkClients, number> = { loopFetch: 0, nodeFetch: 0, undiciFetch: 0 };
  for (const k of order) sdk[k] = await sdkAlone(a.requests, sdkClients[k]);
  let bareRaw: number;
  let bareSdk: number;
  if (i % 2 === 0) {
    bareRaw = await bareTurns(a.requests);
    bareSdk = await bareTurns(a.requests, sdkClients.loopFetch);
  } else {
    bareSdk = await bareTurns(a.requests, sdkClients.loopFetch);
    bareRaw = await bareTurns(a.requests);
  }
  const paced = await toolsPaced();
  const own = (a.total - a.upstream - a.tools) / CALLS;
  rounds.push({
    total: a.total,
    upstream: a.upstream,
    tools: a.tools,
    own,
    upstreamAlone: up,
    toolsAlone: tl,
    ratio: a.total / (up + tl),
    sdkLoopFetch: sdk.loopFetch,
    sdkNodeFetch: sdk.nodeFetch,
    sdkUndiciFetch: sdk.undiciFetch,
    bareRaw,
    bareSdk,
    bareRawRatio: bareRaw / (up + tl),
    bareSdkRatio: bareSdk / (up + tl),
    toolsPaced: paced,
  });
}

await composition.stop();
store.close();
await pool.close();
await dispatcher.close();
upstream.postMessage('close');
await new Promise((r) => upstream.once('exit', r));
rmSync(dir, { recursive: true, force: true });
rmSync(stateDir, { recursive: true, force: true });

const m = (k: keyof Round): number => median(rounds.map((r) => r[k]));
const f = (ms: number): string => `${ms.toFixed(0)} ms`;
const ownMs = m('own');
const ratio = m('ratio');
const sdkPerCall = (m('upstream') - m('upstreamAlone')) / (CALLS + 1);
const today = new Date().toISOString().slice(0, 10);
const cpu = cpus()[0]?.model.trim() ?? '?';
const load = loadavg()
  .map((l) => l.toFixed(1))
  .join(' / ');
const lines = [
  '',
  `## Agent loop: 50 tool calls, upstream answering after ${DELAY_MS} ms (issue 11) — ${today}`,
  '',
  'Command: `npm run build && node dist/bench/agent.js`',
  `Machine: ${cpus().length} cores (${cpu}), Node ${process.version}, nice ${getPriority()}; ` +
    `load average ${loadBefore.toFixed(1)} at the start, ${load} at the end`,
  '',
  `One agent run = ${CALLS + 1} model turns (one tool call each, then the answer) through the openai SDK ` +
    `against a loopback upstream that answers after ${DELAY_MS} ms, and ${CALLS} calls of a one-file-step skill ` +
    `through runner.runSkill. Baseline in the same round: the same ${CALLS + 1} request bodies replayed with ` +
    `undici, plus the same ${CALLS} skill runs through runner.runSkill alone. Median of ${ROUNDS} rounds ` +
    '(sides alternate which goes first).',
  '',
  '| measure | result | baseline in the same run | ratio | target |',
  '|---|---|---|---|---|',
  `| whole agent run | ${f(m('total'))} | upstream alone ${f(m('upstreamAlone'))} + ` +
    `tools alone ${f(m('toolsAlone'))} | ${ratio.toFixed(3)} | < 1.05 |`,
  "| the loop's own time per tool call (run minus its timed model calls and tool calls) | " +
    `${ownMs.toFixed(2)} ms | | | < 2 ms |`,
  `| model calls as the loop timed them (SDK included) | ${f(m('upstream'))} | replayed with undici: ` +
    `${f(m('upstreamAlone'))} | SDK + serialisation: ${sdkPerCall.toFixed(2)} ms per call | |`,
  `| the same bodies through the SDK alone, the loop's transport (undici request(), keep-alive Agent) | ` +
    `${f(m('sdkLoopFetch'))} | replayed with undici: ${f(m('upstreamAlone'))} | ` +
    `${((m('sdkLoopFetch') - m('upstreamAlone')) / (CALLS + 1)).toFixed(2)} ms per call | |`,
  `| the same bodies through the SDK alone, Node's bundled fetch (the SDK's default) | ${f(m('sdkNodeFetch'))} | ` +
    `replayed with undici: ${f(m('upstreamAlone'))} | ` +
    `${((m('sdkNodeFetch') - m('upstreamAlone')) / (CALLS + 1)).toFixed(2)} ms per call | |`,
  `| the same bodies through the SDK alone, undici's fetch + keep-alive Agent | ` +
    `${f(m('sdkUndiciFetch'))} | replayed with undici: ${f(m('upstreamAlone'))} | ` +
    `${((m('sdkUndiciFetch') - m('upstreamAlone')) / (CALLS + 1)).toFixed(2)} ms per call | |`,
  `| tool calls as the loop timed them | ${f(m('tools'))} | runner.runSkill alone: ${f(m('toolsAlone'))} | | |`,
  `| the same skill runs alone, each after a ${DELAY_MS} ms timer as in a run (no loop, no request) | ` +
    `${f(m('toolsPaced'))} | runner.runSkill alone, back to back: ${f(m('toolsAlone'))} | ` +
    `${(m('toolsPaced') / m('toolsAlone')).toFixed(2)} | |`,
  `| no loop: each request with undici, then its skill run (interleaved as in the run) | ${f(m('bareRaw'))} | ` +
    `upstream alone + tools alone | ${m('bareRawRatio').toFixed(3)} | |`,
  `| no loop: each request through the SDK (the loop's transport), then its skill run | ${f(m('bareSdk'))} | ` +
    `upstream alone + tools alone | ${m('bareSdkRatio').toFixed(3)} | |`,
  `| all rounds: run / ratio / own per call | ${rounds.map((r) => f(r.total)).join(', ')} | ` +
    `${rounds.map((r) => r.ratio.toFixed(3)).join(', ')} | ${rounds.map((r) => r.own.toFixed(2)).join(', ')} ms | |`,
  `| all rounds: no loop, undici / SDK ratio | | | ${rounds.map((r) => r.bareRawRatio.toFixed(3)).join(', ')} / ` +
    `${rounds.map((r) => r.bareSdkRatio.toFixed(3)).join(', ')} | |`,
  '',
];
process.stdout.write(lines.join('\n'));
if (!process.argv.includes('--dry-run'))
  replaceSection(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), '## Agent loop:', lines);
if (ownMs >= 2 || ratio >= 1.05) process.stdout.write('\nagent bench: a target was missed\n');
