// Worker thread of parallel-parse.ts: parses its share of a revision's files exactly as
// the main thread would (parse-file.ts) and replies with each result as JSON, or null for
// a file whose result JSON would not carry exactly (the main thread parses that one).

import { parentPort, workerData } from 'node:worker_threads';
import { parseFile } from './parse-file.js';
import type { WorkerReply } from './parallel-parse.js';

const { bytes, offsets } = workerData as { bytes: Uint8Array; offsets: number[] };
let reply: WorkerReply;
try {
  const results: Array<string | null> = [];
  for (let i = 0; i + 1 < offsets.length; i++) {
    const content = Buffer.from(
      bytes.buffer,
      bytes.byteOffset + (offsets[i] as number),
      (offsets[i + 1] as number) - (offsets[i] as number),
    );
    const parsed = parseFile(content);
    results.push(jsonExact(parsed) ? JSON.stringify(parsed) : null);
  }
  reply = { results };
} catch (err) {
  reply = { error: err instanceof Error ? err.message : String(err) };
}
parentPort?.postMessage(reply);

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
