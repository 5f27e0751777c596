// First stage of loading: one file's bytes to YAML documents that keep their source
// positions. Size, encoding, syntax, duplicate keys and alias bombs become findings here,
// never exceptions, so one bad file cannot hide the errors of the others. Plain
// configuration files take the fast reader (yaml-fast-path.ts); anything else, and every
// error message, comes from the `yaml` library.

import { isUtf8 } from 'node:buffer';
import { parseFastPath } from './yaml-fast-path.js';
import { yamlLib } from './yaml-lib.js';
import { MAX_NESTING, tooDeep } from './yaml-depth.js';
import type { Document, Node } from 'yaml';

/** `yaml` is loaded at the first file the fast reader leaves to it (yaml-lib.ts). */
const yaml = yamlLib;

/** Files larger than this are refused unread: no configuration file needs more. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Alias expansions per document; beyond it a "billion laughs" file is refused. */
export const MAX_ALIAS_COUNT = 100;

/** Line and column, 1-based, inside one file. */
export interface LineCol {
  line: number;
  column: number;
}

/** A finding before the file's path is attached (cached per file content). */
export interface FileFinding extends LineCol {
  severity: 'error' | 'warning';
  rule: string;
  message: string;
}

/** One parsed document: its plain value and a way back to the source of any node. */
export interface YamlDocument {
  value: unknown;
  /** Where the document's content starts. */
  start: LineCol;
  /** Position of the node at `path` (or of its key with `at: 'key'`); the nearest existing ancestor otherwise. */
  locate(path: readonly (string | number)[], at?: 'value' | 'key'): LineCol;
}

export interface ParsedYaml {
  documents: YamlDocument[];
  findings: FileFinding[];
}

/** `fastPath: false` forces the `yaml` library (tests compare the two). */
export function parseYamlFile(bytes: Buffer, opts: { fastPath?: boolean } = {}): ParsedYaml {
  const findings: FileFinding[] = [];
  if (bytes.length > MAX_FILE_BYTES) {
    findings.push({
      line: 1,
      column: 1,
      severity: 'error',
      rule: 'file-too-large',
      message: `file is ${bytes.length} bytes, over the 1 MiB limit; split it into several files`,
    });
    return { documents: [], findings };
  }
  if (!isUtf8(bytes)) {
    const offset = firstInvalidUtf8(bytes);
    findings.push({
      ...bytePos(bytes, offset),
      severity: 'error',
      rule: 'encoding',
      message: `invalid UTF-8 byte 0x${(bytes[offset] ?? 0).toString(16).padStart(2, '0')}; save the file as UTF-8`,
    });
    return { documents: [], findings };
  }
  const text = bytes.toString('utf8');
  // The fast reader refuses anything deeper than the limit, so only what it hands back
  // needs the depth scan before the yaml library sees it.
  const fast = opts.fastPath === false ? undefined : parseFastPath(text);
  if (fast) return { documents: fast, findings };
  const deep = tooDeep(text);
  if (deep) {
    findings.push({ ...deep, severity: 'error', rule: 'nesting-depth', message: nestingMessage });
    return { documents: [], findings };
  }
  try {
    return parseText(text, findings);
  } catch (err) {
    // The pre-scan errs towards depth, so this is a safety net: a recursion the scan did
    // not foresee is still a finding of this file, never an exception that stops the sync.
    if (!(err instanceof RangeError)) throw err;
    findings.push({ line: 1, column: 1, severity: 'error', rule: 'nesting-depth', message: nestingMessage });
    return { documents: [], findings };
  }
}

const nestingMessage = `nesting deeper than ${MAX_NESTING} levels; no configuration needs that, flatten the structure`;

function parseText(text: string, findings: FileFinding[]): ParsedYaml {
  const { LineCounter, parseAllDocuments } = yaml();
  const lineCounter = new LineCounter();
  const lc = (offset: number): LineCol => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false, merge: false });
  const documents: YamlDocument[] = [];
  if (!Array.isArray(docs)) return { documents, findings }; // an empty stream
  for (const doc of docs) {
    for (const err of doc.errors) {
      findings.push({
        ...lc(err.pos[0]),
        severity: 'error',
        rule: err.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'yaml-syntax',
        message: firstLine(err.message),
      });
    }
    for (const warn of doc.warnings) {
      findings.push({ ...lc(warn.pos[0]), severity: 'warning', rule: 'yaml', message: firstLine(warn.message) });
    }
    if (doc.errors.length > 0 || doc.contents === null) continue;
    const start = lc(doc.contents.range?.[0] ?? 0);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      findings.push({
        ...(firstAlias(doc, lc) ?? start),
        severity: 'error',
        rule: 'alias-limit',
        message:
          `${firstLine((err as Error).message)}; ` +
          `expand the aliases by hand (at most ${MAX_ALIAS_COUNT} per document)`,
      });
      continue;
    }
    if (value === null || value === undefined) continue; // an empty document (`---` and comments)
    documents.push({ value, start, locate: (path, at = 'value') => locate(doc, path, at, lc) ?? start });
  }
  return { documents, findings };
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? message;
}

function firstAlias(doc: Document, lc: (o: number) => LineCol): LineCol | undefined {
  const { visit } = yaml();
  let found: LineCol | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.range) found = lc(node.range[0]);
      return visit.BREAK;
    },
  });
  return found;
}

function locate(
  doc: Document,
  path: readonly (string | number)[],
  at: 'value' | 'key',
  lc: (o: number) => LineCol,
): LineCol | undefined {
  const { Alias, isMap, isPair, isScalar, isSeq } = yaml();
  let node: unknown = doc.contents;
  let best: Node | undefined = doc.contents ?? undefined;
  for (let i = 0; i < path.length; i++) {
    if (node instanceof Alias) node = node.resolve(doc);
    const seg = path[i];
    let next: unknown;
    let keyNode: unknown;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg),
      );
      if (!pair) break;
      keyNode = pair.key;
      next = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
    } else {
      break;
    }
    if (i === path.length - 1 && at === 'key' && isScalar(keyNode) && keyNode.range) return lc(keyNode.range[0]);
    const empty = isScalar(next) && next.value === null && next.range != null && next.range[0] === next.range[1];
    if (next === null || next === undefined || !(next as Node).range || empty) {
      // `key:` with nothing after it: point at the key.
      if (isScalar(keyNode) && keyNode.range) best = keyNode;
      break;
    }
    node = next;
    best = next as Node;
  }
  return best?.range ? lc(best.range[0]) : undefined;
}

function bytePos(bytes: Buffer, offset: number): LineCol {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Offset of the first byte that breaks UTF-8 (called only when Buffer says it is not UTF-8). */
function firstInvalidUtf8(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
    }
    // Overlongs and surrogates: checked on the second byte.
    const c1 = b[i + 1] ?? 0;
    if (
      (c === 0xe0 && c1 < 0xa0) ||
      (c === 0xed && c1 > 0x9f) ||
      (c === 0xf0 && c1 < 0x90) ||
      (c === 0xf4 && c1 > 0x8f)
    )
      return i;
    i += n + 1;
  }
  return Math.max(0, b.length - 1);
}
