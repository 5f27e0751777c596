// Parses a large revision on more than one thread: worker threads (parse-worker.ts) take
// shares of the files while this thread parses its own, so 10,000 files load in about
// half the time on two cores. Results come back as JSON (V8 parses JSON several times
// faster than it deserializes a structured clone); a file whose facts JSON cannot carry
// exactly (a non-finite number, -0) comes back unparsed and is parsed here. Any failure
// of a worker falls back to parsing its share here, so the result never depends on it.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseFile, type ParsedFile } from './parse-file.js';

/** Below this many files one thread is faster: a worker costs ~40 ms to start. */
export const PARALLEL_MIN_FILES = 1500;
/** At most this many workers, whatever the machine. */
const MAX_WORKERS = 3;
/**
 * This thread's share relative to a worker's: it also turns the workers' JSON back into
 * objects (~15 % of the cost of parsing), so it takes a little less.
 */
const MAIN_SHARE = 0.85;

export interface ParallelOptions {
  /** Use workers from this many files on (default PARALLEL_MIN_FILES). */
  minFiles?: number;
  /** Number of workers (default: one per core beyond the first, at most 3). */
  workers?: number;
}

/** What a worker sends back: one entry per file, JSON of its ParsedFile or null (parse it here). */
export type WorkerReply = { results: Array<string | null> } | { error: string };

const WORKER_SCRIPT = new URL('./parse-worker.js', import.meta.url);

/**
 * Parses every buffer, in order; uses workers when there are enough files and the compiled
 * worker exists. `onWorkers` counts the files a worker parsed.
 */
export async function parseInParallel(
  contents: Buffer[],
  opts: ParallelOptions = {},
): Promise<{ parsed: ParsedFile[]; onWorkers: number }> {
  const workers = Math.min(opts.workers ?? availableParallelism() - 1, MAX_WORKERS);
  // Run from TypeScript sources (tests) there is no compiled worker: one thread then.
  if (workers < 1 || contents.length < (opts.minFiles ?? PARALLEL_MIN_FILES) || !existsSync(workerScript()))
    return { parsed: contents.map(parseFile), onWorkers: 0 };
  const mainCount = Math.floor((contents.length * MAIN_SHARE) / (workers + MAIN_SHARE));
  const per = Math.ceil((contents.length - mainCount) / workers);
  const shares: Array<{ start: number; end: number; reply: Promise<WorkerReply> }> = [];
  for (let start = mainCount; start < contents.length; start += per) {
    const end = Math.min(contents.length, start + per);
    shares.push({ start, end, reply: runWorker(contents.slice(start, end)) });
  }
  const out: ParsedFile[] = new Array(contents.length);
  let onWorkers = 0;
  for (let i = 0; i < mainCount; i++) out[i] = parseFile(contents[i] as Buffer);
  for (const share of shares) {
    const reply = await share.reply;
    for (let i = share.start; i < share.end; i++) {
      const json = 'results' in reply ? reply.results[i - share.start] : null;
      if (json) onWorkers++;
      out[i] = json ? (JSON.parse(json) as ParsedFile) : parseFile(contents[i] as Buffer);
    }
  }
  return { parsed: out, onWorkers };
}

function workerScript(): string {
  return fileURLToPath(WORKER_SCRIPT);
}

/** Starts a worker on these files; never rejects (a failure is a reply that says so). */
function runWorker(files: Buffer[]): Promise<WorkerReply> {
  // One buffer and its offsets, moved to the worker rather than copied.
  const total = files.reduce((n, b) => n + b.length, 0);
  const all = new Uint8Array(new ArrayBuffer(total));
  const offsets = new Array<number>(files.length + 1);
  let at = 0;
  files.forEach((b, i) => {
    offsets[i] = at;
    all.set(b, at);
    at += b.length;
  });
  offsets[files.length] = at;
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SCRIPT, {
        workerData: { bytes: all, offsets },
        transferList: [all.buffer],
        // Everything a worker parses becomes garbage once it is sent: a larger young
        // generation lets most of it die there instead of being copied to the old one.
        resourceLimits: { maxYoungGenerationSizeMb: 64 },
      });
    } catch (err) {
      resolve({ error: (err as Error).message });
      return;
    }
    let settled = false;
    const done = (reply: WorkerReply): void => {
      if (settled) return;
      settled = true;
      resolve(reply);
    };
    worker.once('message', (reply: WorkerReply) => done(reply));
    worker.once('error', (err) => done({ error: err.message }));
    worker.once('exit', (code) => done({ error: `parse worker exited with ${code}` }));
    // An idle worker must not keep a command alive; it exits on its own after replying.
    worker.unref();
  });
}
