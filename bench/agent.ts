// Benchmark of the agent loop (issue 11), run with:
//   npm run build && node dist/bench/agent.js
// A scripted Chat Completions upstream on 127.0.0.1 answers every request after 20 ms:
// one tool call per turn of a cheap skill (one file step) until 50 calls are made, then
// a final answer. In the same round, the same 51 request bodies are replayed straight to
// the upstream with undici, and the same 50 skill runs made through runner.runSkill
// alone. Reported: the loop's own time per tool call (whole run minus the model calls
// and tool calls it timed) and the ratio of the whole run to upstream + tools measured
// alone. The same bodies are also sent through the openai SDK alone, once over Node's
// bundled fetch (what the loop uses) and once over undici's fetch with a keep-alive Agent,
// to show the SDK's share per transport. Rounds alternate which side goes first; medians.
// Appended to bench/RESULTS.md.

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
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

const CALLS = 50;
const DELAY_MS = 20;
const ROUNDS = 7;
const KEY = 'bench-key-0123456789';

const bodies: string[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = JSON.parse(raw) as { messages: Array<{ role: string }>; replay?: boolean };
    if (!req.headers['x-replay']) bodies.push(raw);
    const done = body.messages.filter((m) => m.role === 'tool').length;
    const message =
      done < CALLS
        ? {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: `call_${done}`, type: 'function', function: { name: 'stamp', arguments: `{"n":${done}}` } },
            ],
          }
        : { role: 'assistant', content: `made ${done} stamps` };
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-bench',
          object: 'chat.completion',
          created: 1700000000,
          model: 'bench',
          choices: [{ index: 0, message, finish_reason: done < CALLS ? 'tool_calls' : 'stop', logprobs: null }],
          usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 },
        }),
      );
    }, DELAY_MS);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

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
type SdkFetch = NonNullable<ConstructorParameters<typeof OpenAI>[0]>['fetch'];
const sdkClients = {
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
  sdkNodeFetch: number;
  sdkUndiciFetch: number;
}

async function agentRun(): Promise<{ total: number; upstream: number; tools: number; requests: string[] }> {
  bodies.length = 0;
  const t0 = performance.now();
  const runAgent = runner.runAgent as NonNullable<typeof runner.runAgent>;
  const r = await runAgent({ prompt: 'make 50 stamps', tools: ['stamp'], trigger: { source: 'bench' } });
  const total = performance.now() - t0;
  if (r.status !== 'succeeded' || r.toolCalls.length !== CALLS) throw new Error(`bench run ${r.status}: ${r.error}`);
  return {
    total,
    upstream: r.turns.reduce((s, t) => s + t.latencyMs, 0),
    tools: r.toolCalls.reduce((s, c) => s + c.durationMs, 0),
    requests: [...bodies],
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

/** The same request bodies through the SDK alone (parsed back, as the loop hands it objects). */
async function sdkAlone(requests: string[], client: OpenAI): Promise<number> {
  const t0 = performance.now();
  for (const body of requests) {
    await client.chat.completions.create(JSON.parse(body), { headers: { 'x-replay': '1' } });
  }
  return performance.now() - t0;
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
  const sdkFirst = i % 2 === 0 ? sdkClients.nodeFetch : sdkClients.undiciFetch;
  const sdkSecond = i % 2 === 0 ? sdkClients.undiciFetch : sdkClients.nodeFetch;
  const s1 = await sdkAlone(a.requests, sdkFirst);
  const s2 = await sdkAlone(a.requests, sdkSecond);
  const [sdkNodeFetch, sdkUndiciFetch] = i % 2 === 0 ? [s1, s2] : [s2, s1];
  const own = (a.total - a.upstream - a.tools) / CALLS;
  rounds.push({
    total: a.total,
    upstream: a.upstream,
    tools: a.tools,
    own,
    upstreamAlone: up,
    toolsAlone: tl,
    ratio: a.total / (up + tl),
    sdkNodeFetch,
    sdkUndiciFetch,
  });
}

await composition.stop();
store.close();
await pool.close();
await dispatcher.close();
server.close();
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
  `Machine: ${cpus().length} cores (${cpu}), Node ${process.version}; load average at the end ${load}`,
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
  `| the same bodies through the SDK alone, Node's bundled fetch (the loop's) | ${f(m('sdkNodeFetch'))} | ` +
    `replayed with undici: ${f(m('upstreamAlone'))} | ` +
    `${((m('sdkNodeFetch') - m('upstreamAlone')) / (CALLS + 1)).toFixed(2)} ms per call | |`,
  `| the same bodies through the SDK alone, undici's fetch + keep-alive Agent | ` +
    `${f(m('sdkUndiciFetch'))} | replayed with undici: ${f(m('upstreamAlone'))} | ` +
    `${((m('sdkUndiciFetch') - m('upstreamAlone')) / (CALLS + 1)).toFixed(2)} ms per call | |`,
  `| tool calls as the loop timed them | ${f(m('tools'))} | runner.runSkill alone: ${f(m('toolsAlone'))} | | |`,
  `| all rounds: run / ratio / own per call | ${rounds.map((r) => f(r.total)).join(', ')} | ` +
    `${rounds.map((r) => r.ratio.toFixed(3)).join(', ')} | ${rounds.map((r) => r.own.toFixed(2)).join(', ')} ms | |`,
  '',
];
process.stdout.write(lines.join('\n'));
appendFileSync(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), lines.join('\n'));
if (ownMs >= 2 || ratio >= 1.05) process.stdout.write('\nagent bench: a target was missed\n');
