// Project context: the markdown files the Runtime names in `agent.context` (paths and
// file-name patterns relative to the configuration root), read when a run starts and
// given to the model as one system message. Files outside the root are never read.

import { readFileSync, realpathSync } from 'node:fs';
import { relative, resolve, isAbsolute } from 'node:path';
import { globSync } from 'tinyglobby';

/** Bytes of project context one run carries; more is cut with a note. */
export const CONTEXT_LIMIT_BYTES = 256 * 1024;

export interface ProjectContext {
  /** The system message text, or '' when there is nothing to inject. */
  text: string;
  /** Files read, relative to the configuration root, in order. */
  files: string[];
}

export function loadProjectContext(patterns: readonly string[], configDir: string | undefined): ProjectContext {
  if (patterns.length === 0 || !configDir) return { text: '', files: [] };
  const root = realpathSync(configDir);
  const files: string[] = [];
  for (const pattern of patterns) {
    const matches = globSync(pattern, { cwd: root, onlyFiles: true, dot: false, followSymbolicLinks: false }).sort();
    for (const m of matches) if (!files.includes(m) && inside(root, resolve(root, m))) files.push(m);
  }
  let text = '';
  const read: string[] = [];
  for (const f of files) {
    let body: string;
    try {
      const real = realpathSync(resolve(root, f));
      if (!inside(root, real)) continue; // a symlink out of the repository
      body = readFileSync(real, 'utf8').trim();
    } catch {
      continue; // vanished between the glob and the read
    }
    read.push(f);
    text += `\n\n## ${f}\n\n${body}`;
    if (Buffer.byteLength(text) > CONTEXT_LIMIT_BYTES) {
      const head = Buffer.from(text).subarray(0, CONTEXT_LIMIT_BYTES).toString('utf8');
      text = `${head}\n\n[project context cut at ${CONTEXT_LIMIT_BYTES} bytes]`;
      break;
    }
  }
  if (!read.length) return { text: '', files: [] };
  return { text: `Project context (from the configuration repository):${text}`, files: read };
}

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
}
