// Worker thread of parallel-parse.ts: takes chunks of a revision's files from the shared
// counter, parses them exactly as the main thread would (parse-file.ts) and sends each
// chunk back as JSON, with null for a file whose result JSON would not carry exactly (the
// main thread parses that one).

import { parentPort } from 'node:worker_threads';
import { parseSource } from './parse-file.js';
import type { WorkerReply, WorkerTask } from './parallel-parse.js';

const port = parentPort;
port?.once('message', (task: WorkerTask) => {
  const send = (reply: WorkerReply): void => port.postMessage(reply);
  try {
    const n = task.offsets.length - 1;
    const places = new Map(task.skills);
    const chunks = Math.ceil(n / task.chunk);
    for (let c = Atomics.add(task.counter, 0, 1); c < chunks; c = Atomics.add(task.counter, 0, 1)) {
      const results: Array<string | null> = [];
      for (let i = c * task.chunk; i < Math.min(n, (c + 1) * task.chunk); i++) {
        const start = task.offsets[i] as number;
        // A view of the shared bytes, which nobody writes once they are shared.
        const bytes = Buffer.from(task.bytes, start, (task.offsets[i + 1] as number) - start);
        const parsed = parseSource(bytes, places.get(i), task.keepResources);
        results.push(jsonExact(parsed) ? JSON.stringify(parsed) : null);
      }
      send({ chunk: c, results });
    }
  } catch (err) {
    send({ error: err instanceof Error ? err.message : String(err) });
  }
  send({ done: true });
  port.close();
});

/** True when JSON.parse(JSON.stringify(v)) gives v back: no undefined, non-finite number or -0 inside. */
function jsonExact(v: unknown): boolean {
  if (v === null) return true;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object':
      if (Array.isArray(v)) {
        for (const x of v) if (!jsonExact(x)) return false;
        return true;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) return false;
      for (const k in v) if (!jsonExact((v as Record<string, unknown>)[k])) return false;
      return true;
    default:
      return false;
  }
}
