// Loads one revision of a configuration: YAML files to validated, defaulted resources and
// every finding with its file:line:column. Per-file work (parse, schema, per-document
// checks) is cached by content id, so a revision that changes one file re-parses one file;
// the checks across files always run on the whole set (see cross-refs.ts).
//
// Which files count: *.yaml and *.yml, except under a dot-directory (.git, .github) or
// dot-file, under node_modules, or under the top-level `archive/` folder where the curator
// moves pruned skills (they are history, not desired state). An Agent Skills folder
// (`skills/NAME/SKILL.md`) is a Skill too; its scripts/, references/ and assets/ files are
// listed in it and never read as YAML (skill-md.ts).

import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CaduceusError } from './errors.js';
import { crossReferenceFindings, type PlacedFacts } from './cross-refs.js';
import { parseFile, parseSource, type ParsedFile, type SkillPlace } from './parse-file.js';
import { ParseJob, type ParallelOptions } from './parallel-parse.js';
import { cronProblem, cronValidator } from './schedule-check.js';
import { resourceHash } from './resource-facts.js';
import { isSkillFolderFile, isSkillMdPath, skillFolderFiles } from './skill-md.js';
import { contentId, ReadFile, type SourceFile } from './source-file.js';
import { API_VERSION, type Finding, type Resource } from './types.js';

export { parseFile };

export interface LoadResult {
  /** Empty when the Loader keeps no resources (keepResources: false); `accepted` counts them either way. */
  resources: Resource[];
  /** Documents that passed every check: the resources of the revision. */
  accepted: number;
  findings: Finding[];
}

/** True for paths the loader reads (relative to the configuration root, forward slashes). */
export function isConfigPath(path: string): boolean {
  if (!/\.ya?ml$/i.test(path) && !isSkillMdPath(path) && !isSkillFolderFile(path)) return false;
  // Without splitting the path (called for every file of every load): no segment may
  // start with a dot or be node_modules, and the first may not be archive.
  if (path.startsWith('archive/') || path.startsWith('.') || path.includes('/.')) return false;
  return !(path.startsWith('node_modules/') || path.includes('/node_modules/'));
}

/** What one file contributes to a load, kept while its path and content stay the same. */
interface Placed {
  /** The content id, and for a SKILL.md its folder and files too (parseKey). */
  id: string;
  parsed: ParsedFile;
  docs: PlacedFacts[];
  findings: Finding[];
  /** The resource of each document that has one, made when first needed (no list until then). */
  resources?: Array<Resource | undefined>;
  /** The last load that had this file (entries not seen by a load are then dropped). */
  seen: number;
}

/** The findings of every file that has none: one list, not one per file kept between loads. */
const NO_FINDINGS: Finding[] = Object.freeze([]) as unknown as Finding[];

/** A parse result by content key, with the last load that used it. */
interface Cached {
  parsed: ParsedFile;
  seen: number;
}

const byPath = (a: SourceFile, b: SourceFile): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export class Loader {
  /**
   * Both maps are updated in place, not rebuilt per load: filling a new Map of 11,000
   * entries costs 10-15 ms, a lookup per file about a tenth of that.
   */
  private readonly cache = new Map<string, Cached>();
  /**
   * Per path: a revision that changes one file of 10,000 rebuilds one entry, not 10,000
   * (the checks across files still run over all of them).
   */
  private readonly placed = new Map<string, Placed>();
  /** Counts loads; `seen` marks of the entries this one used. */
  private generation = 0;
  private readonly configPaths = new Map<string, boolean>();

  /**
   * `parallel` tunes when parsing uses worker threads (tests force them on small revisions).
   * `keepResources: false`: every file is parsed, schema-checked and cross-referenced as
   * always, but no document's content is kept past its file and `resources` stays empty
   * (`accepted` counts them), for a caller that only reports findings (`caduceus
   * validate`). At 11,001 files the kept contents were most of what the young generation's
   * collections copied.
   */
  constructor(
    private readonly parallel: ParallelOptions = {},
    private readonly opts: { keepResources?: boolean } = {},
  ) {}

  /** Files parsed by the last load (the others came from the cache); for tests and metrics. */
  lastParsed = 0;
  /** Of those, the files a worker thread parsed. */
  lastOnWorkers = 0;
  /** Files parsed by this Loader since it was made. */
  totalParsed = 0;

  async load(files: SourceFile[]): Promise<LoadResult> {
    const selected: SourceFile[] = [];
    // A skill folder's scripts and references are listed in its Skill, never parsed as configuration.
    const folderFiles: string[] = [];
    for (const f of files) {
      if (!this.isConfig(f.path)) continue;
      if (isSkillFolderFile(f.path)) folderFiles.push(f.path);
      else selected.push(f);
    }
    // Sources list files in path order already; sorting is only for those that do not.
    if (!selected.every((f, i) => i === 0 || byPath(selected[i - 1] as SourceFile, f) < 0)) selected.sort(byPath);
    const units = selected.map((f) => parseUnit(f, folderFiles));
    const fresh = await this.parseNew(units);
    this.lastParsed = fresh;
    this.totalParsed += fresh;
    const gen = ++this.generation;
    let keysUsed = 0;
    const findings: Finding[] = [];
    const placed: PlacedFacts[] = [];
    const entries: Placed[] = [];
    for (const { f, key } of units) {
      const c = this.cache.get(key) as Cached; // parseNew left an entry for every key
      if (c.seen !== gen) {
        c.seen = gen;
        keysUsed++;
      }
      let p = this.placed.get(f.path);
      if (!p || p.id !== key) {
        const parsed = c.parsed;
        p = {
          id: key,
          parsed,
          docs: parsed.docs.map((facts) => ({ file: f.path, facts })),
          findings: parsed.findings.length === 0 ? NO_FINDINGS : parsed.findings.map((x) => ({ file: f.path, ...x })),
          seen: gen,
        };
        this.placed.set(f.path, p);
      }
      p.seen = gen;
      entries.push(p);
      for (const x of p.findings) findings.push(x);
      for (const d of p.docs) placed.push(d);
    }
    // Drop what is no longer in the revision.
    if (this.placed.size > units.length) for (const [k, p] of this.placed) if (p.seen !== gen) this.placed.delete(k);
    if (this.cache.size > keysUsed) for (const [k, c] of this.cache) if (c.seen !== gen) this.cache.delete(k);
    const cross = crossReferenceFindings(placed);
    for (const x of cross.findings) findings.push(x);
    const resources: Resource[] = [];
    let accepted = 0;
    for (const p of entries) {
      p.docs.forEach((d, i) => {
        if (!d.facts.valid || cross.rejected.has(d)) return;
        accepted++;
        if (!d.facts.resource) return; // not kept (keepResources: false)
        p.resources ??= [];
        p.resources[i] ??= toResource(d);
        resources.push(p.resources[i] as Resource);
      });
    }
    findings.sort(compareFindings);
    return { resources, accepted, findings };
  }

  private isConfig(path: string): boolean {
    // Remembered from the second load on: a Loader that loads once (validate) fills no Map.
    if (this.generation === 0) return isConfigPath(path);
    let ok = this.configPaths.get(path);
    if (ok === undefined) {
      ok = isConfigPath(path);
      // Paths of earlier revisions pile up only as fast as files are added; forget them all now and then.
      if (this.configPaths.size > 100_000) this.configPaths.clear();
      this.configPaths.set(path, ok);
    }
    return ok;
  }

  /**
   * Reads every file whose content is not cached, then parses them (on worker threads as
   * well when there are many; see parallel-parse.ts): the reads are all in flight at once
   * (a git source answers them through one cat-file process), and parsing does not pay a
   * promise per file. Each new key gets its cache entry here (a key met twice is parsed
   * once); returns how many files were parsed.
   */
  private async parseNew(units: ParseUnit[]): Promise<number> {
    const todo: ParseUnit[] = [];
    const made: Cached[] = [];
    for (const u of units) {
      if (this.cache.has(u.key)) continue;
      const entry: Cached = { parsed: NOT_PARSED, seen: 0 };
      this.cache.set(u.key, entry);
      todo.push(u);
      made.push(entry);
    }
    try {
      await this.parseInto(todo, made);
    } catch (err) {
      for (const u of todo) this.cache.delete(u.key);
      throw err;
    }
    return todo.length;
  }

  private async parseInto(todo: ParseUnit[], made: Cached[]): Promise<void> {
    // Workers (for a large revision) start now and load their code while the files are read.
    const job = new ParseJob(todo.length, this.parallel);
    const keep = this.opts.keepResources !== false;
    if (!job.parallel && todo.some((u) => !u.f.bytes)) {
      // One thread and files still to read (a git source answers them in order through one
      // cat-file process): each file is parsed as its bytes arrive, while the next ones come.
      const parsed = await Promise.all(
        todo.map((u) =>
          (u.f.bytes ? Promise.resolve(u.f.bytes) : u.f.read()).then(
            (bytes) => parseSource(bytes, u.place, keep),
            (err: unknown) => unreadable(err),
          ),
        ),
      );
      this.lastOnWorkers = 0;
      await checkCrons(parsed);
      parsed.forEach((p, i) => {
        (made[i] as Cached).parsed = p;
      });
      return;
    }
    // Files that came with their bytes (a directory) need no promise each: `read` stays empty.
    const read: Array<PromiseSettledResult<Buffer>> = todo.every((u) => u.f.bytes)
      ? []
      : await Promise.allSettled(todo.map((u) => u.f.read()));
    const readable: Buffer[] = [];
    const places: Array<SkillPlace | undefined> = [];
    todo.forEach((u, i) => {
      const r = read[i];
      const bytes = r ? (r.status === 'fulfilled' ? r.value : undefined) : u.f.bytes;
      if (!bytes) return;
      readable.push(bytes);
      places.push(u.place);
    });
    const { parsed, onWorkers } = await job.parse(readable, places, keep);
    this.lastOnWorkers = onWorkers;
    await checkCrons(parsed);
    let k = 0;
    todo.forEach((_, i) => {
      const r = read[i];
      (made[i] as Cached).parsed = r?.status === 'rejected' ? unreadable(r.reason) : (parsed[k++] as ParsedFile);
    });
  }
}

/** A cache entry's content until its file is parsed (never seen by a finished load). */
const NOT_PARSED: ParsedFile = { docs: [], findings: [] };

/** A file to parse: a SKILL.md carries its place, and its key names the place too. */
interface ParseUnit {
  f: SourceFile;
  key: string;
  place?: SkillPlace;
}

/**
 * A YAML file's result depends only on its content (the key is its id); a SKILL.md's also
 * on its folder (the name rule) and the folder's files (listed in the Skill).
 */
function parseUnit(f: SourceFile, folderFiles: readonly string[]): ParseUnit {
  if (!isSkillMdPath(f.path)) return { f, key: f.id };
  const place = skillFolderFiles(f.path, folderFiles);
  return { f, key: `${f.id}:${place.folder}:${place.files.join('|')}`, place };
}

function toResource(d: PlacedFacts): Resource {
  const r = d.facts.resource as NonNullable<PlacedFacts['facts']['resource']>;
  const fields = {
    apiVersion: API_VERSION,
    kind: r.kind,
    metadata: r.metadata,
    spec: r.spec,
    source: { file: d.file, line: d.facts.start.line, column: d.facts.start.column },
  };
  const content = { apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec };
  return { ...fields, hash: resourceHash(content) } as Resource;
}

function unreadable(err: unknown): ParsedFile {
  return {
    docs: [],
    findings: [
      {
        line: 1,
        column: 1,
        severity: 'error',
        rule: 'unreadable',
        message: `cannot read the file: ${(err as Error).message}`,
      },
    ],
  };
}

/**
 * node-cron's verdict on the files' cron expressions, as findings cached with each file.
 * Checked on the main thread after parsing: node-cron is loaded only when a revision has a
 * schedule, and never in a parse worker.
 */
async function checkCrons(parsed: ParsedFile[]): Promise<void> {
  const files = parsed.filter((file) => file.docs.some((d) => d.crons.length > 0));
  if (files.length === 0) return;
  const validate = await cronValidator();
  for (const file of files)
    for (const c of file.docs.flatMap((d) => d.crons)) {
      const problem = cronProblem(validate, c.expr);
      if (problem) file.findings.push({ ...c.pos, severity: 'error', rule: 'schedule', message: problem });
    }
}

export function compareFindings(a: Finding, b: Finding): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

/** Files up to this size are read into the arena; a larger one is read by readFileSync. */
const SMALL_FILE = 64 * 1024;
const ARENA = 1024 * 1024;
let arena = Buffer.allocUnsafeSlow(ARENA);
let arenaUsed = 0;

/**
 * A configuration file's bytes, read straight into a slice of a shared 1 MiB arena: one
 * open, one read, one close. readFileSync asks the size first (one more system call) and
 * gives every file a buffer of its own that the garbage collector tracks one by one; for
 * 11,000 files both show.
 */
function readSmallFile(path: string): Buffer {
  if (arena.length - arenaUsed < SMALL_FILE) {
    arena = Buffer.allocUnsafeSlow(ARENA);
    arenaUsed = 0;
  }
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, arena, arenaUsed, SMALL_FILE, 0);
  } finally {
    closeSync(fd);
  }
  if (n === SMALL_FILE) return readFileSync(path);
  const out = arena.subarray(arenaUsed, arenaUsed + n);
  arenaUsed += n;
  return out;
}

/** Files read between two turns of the event loop while listing a directory. */
const READ_BATCH = 512;

/**
 * Lists and reads the configuration files under dir (see isConfigPath), paths relative
 * with forward slashes. Reads are synchronous, in batches with a turn of the event loop
 * between them: for thousands of small files one `readFileSync` costs a few µs where a
 * promise read (open, fstat, read, close through the thread pool) costs ten times more.
 */
export async function listConfigFiles(dir: string): Promise<SourceFile[]> {
  const paths: string[] = [];
  const walk = (rel: string): void => {
    const entries = readdirSync(rel ? join(dir, rel) : dir, { withFileTypes: true });
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith('.') || e.name === 'node_modules' || (rel === '' && e.name === 'archive')) continue;
      if (e.isDirectory()) walk(path);
      else if (e.isFile() && isConfigPath(path)) paths.push(path);
    }
  };
  walk('');
  // Content ids need the bytes: read each file once here and hand the bytes to the loader.
  // The paths are already clean (names from readdir joined by `/`): concatenated, not
  // joined, as path.join normalises each of thousands of paths again.
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const files: SourceFile[] = [];
  for (let i = 0; i < paths.length; i++) {
    if (i > 0 && i % READ_BATCH === 0) await new Promise((r) => setImmediate(r));
    const path = paths[i] as string;
    try {
      const bytes = readSmallFile(prefix + path);
      files.push(new ReadFile(path, contentId(bytes), bytes));
    } catch (err) {
      files.push({ path, id: `unreadable:${path}:${Date.now()}`, read: async () => Promise.reject(err) });
    }
  }
  return files;
}

/**
 * The configuration files of a directory on disk; CaduceusError ConfigDirUnreadable when it is not a readable
 * directory.
 */
export async function readConfigDirectory(dir: string): Promise<SourceFile[]> {
  const hint = 'pass a configuration directory, e.g. caduceus validate examples/repo';
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    throw new CaduceusError(
      'ConfigDirUnreadable',
      `cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { hint },
    );
  }
  if (!isDir) throw new CaduceusError('ConfigDirUnreadable', `${dir} is not a directory`, { hint });
  try {
    return await listConfigFiles(dir);
  } catch (err) {
    throw new CaduceusError('ConfigDirUnreadable', `cannot read ${dir}: ${(err as Error).message}`, {
      hint: 'check the directory permissions',
    });
  }
}

/** Loads a directory from disk with a fresh Loader. */
export async function loadDirectory(dir: string): Promise<LoadResult> {
  return new Loader().load(await readConfigDirectory(dir));
}
