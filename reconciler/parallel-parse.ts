// Parses a large revision on more than one thread. Worker threads (parse-worker.ts) are
// started before the files are read, so they load their code meanwhile; then every thread,
// this one included, takes chunks of files from one shared counter until none are left,
// so a thread that gets less CPU (a busy machine) simply parses fewer. Results come back
// as JSON (V8 parses JSON several times faster than it deserializes a structured clone); a
// file whose facts JSON cannot carry exactly (a non-finite number, -0) comes back unparsed
// and is parsed here, and so is every chunk of a worker that fails: the result never
// depends on the workers.

import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseSource, type ParsedFile, type SkillPlace } from './parse-file.js';

/** Below this many files one thread is faster: a worker costs ~50 ms to start. */
export const PARALLEL_MIN_FILES = 1500;
/** At most this many workers, whatever the machine. */
const MAX_WORKERS = 3;
/** Files per chunk taken from the shared counter. */
const CHUNK = 128;

export interface ParallelOptions {
  /** Use workers from this many files on (default PARALLEL_MIN_FILES). */
  minFiles?: number;
  /** Number of workers (default: one per idle core beyond this thread's, at most 3). */
  workers?: number;
  /** Files per chunk (default 128). */
  chunk?: number;
  /** false: this thread takes no chunk (tests compare what workers parse with one thread). */
  mainThread?: boolean;
  /** The worker script (default parse-worker.js next to this module; tests give a failing one). */
  script?: URL;
}

/** What the main thread sends a worker once the files are read. */
export interface WorkerTask {
  /** Every file's bytes, back to back. */
  bytes: SharedArrayBuffer;
  /** n + 1 offsets into bytes. */
  offsets: Int32Array;
  /** [0]: the next chunk to take. */
  counter: Int32Array;
  chunk: number;
  /** The SKILL.md files among them (index, place); every other file is YAML. */
  skills: Array<[number, SkillPlace]>;
  /** Whether each document's content comes back (parse-file.ts, keepResources). */
  keepResources: boolean;
}

/** What a worker sends back: a chunk's results (JSON of each ParsedFile, or null: parse it here), then done. */
export type WorkerReply = { chunk: number; results: Array<string | null> } | { done: true } | { error: string };

const WORKER_SCRIPT = new URL('./parse-worker.js', import.meta.url);

interface Running {
  worker: Worker;
  /** Chunks this worker sent back. */
  replies: Map<number, Array<string | null>>;
  /** Settles when the worker said done, failed or exited. */
  finished: Promise<void>;
}

/** Parsing of one load, started as soon as the number of files to parse is known. */
export class ParseJob {
  private readonly workers: Running[];

  /** Starts the workers when `expected` files are worth them and the compiled worker exists. */
  constructor(
    expected: number,
    private readonly opts: ParallelOptions = {},
  ) {
    const n = Math.min(opts.workers ?? idleCores(), MAX_WORKERS);
    const script = opts.script ?? WORKER_SCRIPT;
    // Run from TypeScript sources (tests) there is no compiled worker: one thread then.
    const use = n >= 1 && expected >= (opts.minFiles ?? PARALLEL_MIN_FILES) && existsSync(fileURLToPath(script));
    this.workers = use ? Array.from({ length: n }, () => startWorker(script)).filter((w) => w !== undefined) : [];
  }

  /** Whether workers parse with this thread (otherwise the caller may parse file by file as it reads). */
  get parallel(): boolean {
    return this.workers.length > 0;
  }

  /**
   * Parses every buffer, in order; `places[i]` set makes buffer i a SKILL.md in that folder.
   * `onWorkers` counts the files a worker parsed.
   */
  async parse(
    contents: Buffer[],
    places: ReadonlyArray<SkillPlace | undefined> = [],
    keepResources = true,
  ): Promise<{ parsed: ParsedFile[]; onWorkers: number }> {
    const one = (i: number): ParsedFile => parseSource(contents[i] as Buffer, places[i], keepResources);
    if (this.workers.length === 0) return { parsed: contents.map((_, i) => one(i)), onWorkers: 0 };
    const size = this.opts.chunk ?? CHUNK;
    const task = share(contents, size, places, keepResources);
    for (const w of this.workers) w.worker.postMessage(task);
    const out: ParsedFile[] = new Array(contents.length);
    const chunks = Math.ceil(contents.length / size);
    const mine = new Set<number>();
    if (this.opts.mainThread !== false) {
      for (let c = Atomics.add(task.counter, 0, 1); c < chunks; c = Atomics.add(task.counter, 0, 1)) {
        mine.add(c);
        for (let i = c * size; i < Math.min(contents.length, (c + 1) * size); i++) out[i] = one(i);
      }
    }
    await Promise.all(this.workers.map((w) => w.finished));
    let onWorkers = 0;
    for (let c = 0; c < chunks; c++) {
      if (mine.has(c)) continue;
      // A chunk no worker sent back (it failed, or none ran) is parsed here.
      const results = this.workers.find((w) => w.replies.has(c))?.replies.get(c);
      for (let i = c * size; i < Math.min(contents.length, (c + 1) * size); i++) {
        const json = results?.[i - c * size];
        if (json) onWorkers++;
        out[i] = json ? (JSON.parse(json) as ParsedFile) : one(i);
      }
    }
    return { parsed: out, onWorkers };
  }
}

/**
 * Cores a worker would have to itself: one per core beyond this thread's, less the load
 * the machine already carries. On a machine whose cores are all busy a worker only adds
 * its start-up, its own JIT warm-up and the JSON of its results (measured: 40 % more CPU,
 * 30 % more wall time with the load average at five times the cores).
 */
function idleCores(): number {
  const cores = availableParallelism();
  // On two cores one worker was a loss even with the machine idle: validating 11,001
  // one-resource files took 1800 ms with it against 1450 ms without (9 alternating rounds,
  // 2026-12-02): the main thread reads while the worker parses, but the worker's start, its
  // JIT warm-up, the JSON of its results and the collector's threads then share two cores.
  if (cores < 3) return 0;
  return Math.max(0, Math.min(cores - 1, Math.floor(cores - (loadavg()[0] ?? 0) - 0.5)));
}

/** The files in memory both threads can read, and a counter at 0. */
function share(
  contents: Buffer[],
  chunk: number,
  places: ReadonlyArray<SkillPlace | undefined>,
  keepResources: boolean,
): WorkerTask {
  const skills: Array<[number, SkillPlace]> = [];
  places.forEach((p, i) => {
    if (p) skills.push([i, p]);
  });
  const total = contents.reduce((n, b) => n + b.length, 0);
  const bytes = new SharedArrayBuffer(total);
  const view = new Uint8Array(bytes);
  const offsets = new Int32Array(new SharedArrayBuffer(4 * (contents.length + 1)));
  let at = 0;
  contents.forEach((b, i) => {
    offsets[i] = at;
    view.set(b, at);
    at += b.length;
  });
  offsets[contents.length] = at;
  return { bytes, offsets, counter: new Int32Array(new SharedArrayBuffer(4)), chunk, skills, keepResources };
}

function startWorker(script: URL): Running | undefined {
  let worker: Worker;
  try {
    // Everything a worker parses becomes garbage once it is sent: a larger young
    // generation lets most of it die there instead of being copied to the old one.
    worker = new Worker(script, { resourceLimits: { maxYoungGenerationSizeMb: 64 } });
  } catch {
    return undefined;
  }
  // An idle worker must not keep a command alive; it exits on its own after its last chunk.
  worker.unref();
  const replies = new Map<number, Array<string | null>>();
  const finished = new Promise<void>((resolve) => {
    worker.on('message', (reply: WorkerReply) => {
      if ('chunk' in reply) replies.set(reply.chunk, reply.results);
      else resolve();
    });
    worker.once('error', () => resolve());
    worker.once('exit', () => resolve());
  });
  return { worker, replies, finished };
}
