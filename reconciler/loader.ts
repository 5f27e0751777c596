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

import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CaduceusError } from './errors.js';
import { checkAgainstSchema, checkDocument } from './schema-check.js';
import { isSkillFolderFile, isSkillMdPath, parseSkillMd, skillFolderFiles } from './skill-md.js';
import { crossReferenceFindings, type PlacedFacts } from './cross-refs.js';
import { docFacts, type DocFacts } from './resource-facts.js';
import { parseYamlFile, type FileFinding } from './yaml-documents.js';
import { gitBlobId, type SourceFile } from './source-file.js';
import { API_VERSION, type Finding, type Resource } from './types.js';

export interface LoadResult {
  resources: Resource[];
  findings: Finding[];
}

/** Per-file result, independent of the file's path so equal content shares it. */
interface ParsedFile {
  docs: DocFacts[];
  findings: FileFinding[];
}

/** True for paths the loader reads (relative to the configuration root, forward slashes). */
export function isConfigPath(path: string): boolean {
  if (!/\.ya?ml$/i.test(path) && !isSkillMdPath(path) && !isSkillFolderFile(path)) return false;
  const parts = path.split('/');
  if (parts[0] === 'archive') return false;
  return !parts.some((p) => p.startsWith('.') || p === 'node_modules');
}

export class Loader {
  private cache = new Map<string, ParsedFile>();
  /** Files parsed by the last load (the others came from the cache); for tests and metrics. */
  lastParsed = 0;
  /** Files parsed by this Loader since it was made. */
  totalParsed = 0;

  async load(files: SourceFile[]): Promise<LoadResult> {
    const selected = files
      .filter((f) => isConfigPath(f.path))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      // A skill folder's scripts and references are listed in its Skill, never parsed as configuration.
      .filter((f) => !isSkillFolderFile(f.path));
    const paths = files.map((f) => f.path);
    const parsed = await Promise.all(
      selected.map((f) => this.parsed(f, isSkillMdPath(f.path) ? skillFolderFiles(f.path, paths) : undefined)),
    );
    this.lastParsed = 0;
    const next = new Map<string, ParsedFile>();
    const findings: Finding[] = [];
    const placed: PlacedFacts[] = [];
    selected.forEach((f, i) => {
      const p = parsed[i] as { file: ParsedFile; fresh: boolean };
      if (p.fresh) this.lastParsed++;
      next.set(cacheKey(f, paths), p.file);
      for (const x of p.file.findings) findings.push({ file: f.path, ...x });
      for (const facts of p.file.docs) placed.push({ file: f.path, facts });
    });
    this.totalParsed += this.lastParsed;
    this.cache = next; // drop content no longer in the revision
    const cross = crossReferenceFindings(placed);
    findings.push(...cross.findings);
    const resources: Resource[] = [];
    for (const d of placed) {
      const r = d.facts.resource;
      if (!r || cross.rejected.has(d)) continue;
      resources.push({
        apiVersion: API_VERSION,
        kind: r.kind,
        metadata: r.metadata,
        spec: r.spec,
        source: { file: d.file, line: d.facts.start.line, column: d.facts.start.column },
        hash: r.hash,
      } as Resource);
    }
    findings.sort(compareFindings);
    return { resources, findings };
  }

  private async parsed(
    f: SourceFile,
    skillFolder: { folder: string; files: string[] } | undefined,
  ): Promise<{ file: ParsedFile; fresh: boolean }> {
    const hit = this.cache.get(skillFolder ? `${f.id}:${skillFolder.files.join('|')}` : f.id);
    if (hit) return { file: hit, fresh: false };
    let bytes: Buffer;
    try {
      bytes = await f.read();
    } catch (err) {
      return {
        file: {
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
        },
        fresh: true,
      };
    }
    return { file: skillFolder ? parseSkillMdFile(bytes, skillFolder) : parseFile(bytes), fresh: true };
  }
}

/** A SKILL.md's cached result also depends on the files of its folder. */
function cacheKey(f: SourceFile, paths: readonly string[]): string {
  return isSkillMdPath(f.path) ? `${f.id}:${skillFolderFiles(f.path, paths).files.join('|')}` : f.id;
}

/** An Agent Skills folder's SKILL.md, as one Skill document through the same checks as YAML. */
export function parseSkillMdFile(bytes: Buffer, place: { folder: string; files: string[] }): ParsedFile {
  const { document, findings } = parseSkillMd(bytes, place, (doc, out) =>
    checkAgainstSchema('skill-md.schema.json', doc, out),
  );
  const docs: DocFacts[] = [];
  const checked = document ? checkDocument(document, findings) : undefined;
  const facts = document && checked ? docFacts(document, checked, findings) : undefined;
  if (facts) docs.push(facts);
  return { docs, findings };
}

/** Parse, schema and per-document checks of one file. */
export function parseFile(bytes: Buffer): ParsedFile {
  const { documents, findings } = parseYamlFile(bytes);
  const docs: DocFacts[] = [];
  for (const doc of documents) {
    const checked = checkDocument(doc, findings);
    if (!checked) continue;
    const facts = docFacts(doc, checked, findings);
    if (facts) docs.push(facts);
  }
  return { docs, findings };
}

export function compareFindings(a: Finding, b: Finding): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

/** Lists and reads the configuration files under dir (see isConfigPath), paths relative with forward slashes. */
export async function listConfigFiles(dir: string): Promise<SourceFile[]> {
  const paths: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(rel ? join(dir, rel) : dir, { withFileTypes: true });
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith('.') || e.name === 'node_modules' || (rel === '' && e.name === 'archive')) continue;
      if (e.isDirectory()) await walk(path);
      else if (e.isFile() && isConfigPath(path)) paths.push(path);
    }
  };
  await walk('');
  // Content ids need the bytes: read each file once here and hand the bytes to the loader.
  return Promise.all(
    paths.map(async (path): Promise<SourceFile> => {
      try {
        const bytes = await readFile(join(dir, path));
        return { path, id: gitBlobId(bytes), read: async () => bytes };
      } catch (err) {
        return { path, id: `unreadable:${path}:${Date.now()}`, read: async () => Promise.reject(err) };
      }
    }),
  );
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
