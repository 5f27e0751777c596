// The scripted Chat Completions upstream of bench/agent.ts, run in a worker thread so
// that, like a real model server, its work (parsing each growing request, timing the
// answer, writing it) is not done on the thread whose time is measured. It answers every
// request after `delayMs`: one tool call of `stamp` per turn until `calls` are made, then
// a final answer. Requests without an `x-replay` header are kept; the parent asks for
// them with a 'take' message after a run and gets them back in order.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

const { calls, delayMs } = workerData as { calls: number; delayMs: number };
const port = parentPort;
if (!port) throw new Error('bench/agent-upstream.js runs as a worker thread');

let bodies: string[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = JSON.parse(raw) as { messages: Array<{ role: string }> };
    if (!req.headers['x-replay']) bodies.push(raw);
    const done = body.messages.filter((m) => m.role === 'tool').length;
    const message =
      done < calls
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
          choices: [{ index: 0, message, finish_reason: done < calls ? 'tool_calls' : 'stop', logprobs: null }],
          usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 },
        }),
      );
    }, delayMs);
  });
});

port.on('message', (msg: 'take' | 'close') => {
  if (msg === 'take') {
    port.postMessage({ bodies });
    bodies = [];
  } else server.close(() => port.close());
});
server.listen(0, '127.0.0.1', () => port.postMessage({ port: (server.address() as AddressInfo).port }));
