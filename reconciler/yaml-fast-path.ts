// A fast reader for the plain subset of YAML that configuration files are written in
// (block mappings and sequences, one-line scalars and flow collections, literal and
// simple folded block scalars, comments). The `yaml` library costs ~300 µs per small
// document on this machine, which puts a 10,000-skill repository far over its load
// budget; this reader is ~10× faster. It is deliberately conservative: anything outside
// the subset (anchors, aliases, tags, directives, multi-line plain or quoted scalars,
// complex keys, duplicate keys, tabs, CRLF, anything it is unsure of) returns undefined
// and the caller parses the file with `yaml`, which also produces every error message.
// test/reconciler/yaml-fast-path.test.ts checks it against `yaml` value for value.
// Positions go into one flat table per file (a few numbers per node) rather than an
// object per node: with 10,000 files the reader's garbage was a fifth of a load.

import type { LineCol, YamlDocument } from './yaml-documents.js';
import { MAX_NESTING } from './yaml-depth.js';

class Unsupported extends Error {}
const bail = (): never => {
  throw new Unsupported();
};

const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$/;
const OTHER_NUMBER = /^(?:0o|0x|[-+]?\.(?:inf|Inf|INF)$|\.nan$|\.NaN$|\.NAN$)/;
const RESERVED_START = /^[&*!%@`?|>:]/;

const SPACE = 32;
const HASH = 35;
const DASH = 45;
const COLON = 58;

/** Documents of the file, or undefined when the file is outside the subset. */
export function parseFastPath(text: string): YamlDocument[] | undefined {
  if (text.includes('\t') || text.includes('\r') || text.charCodeAt(0) === 0xfeff) return undefined;
  try {
    return new FastParser(text).documents();
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

const SCALAR = 0;
const MAP = 1;
const SEQ = 2;
/** Numbers per node: kind, line, column, key line, key column, end (index after the node's last descendant). */
const STRIDE = 6;

/**
 * Positions of every node of one file, in document order (a node before its children).
 * The children of node n are n + 1, then each next sibling at the previous one's end.
 */
class Positions {
  /**
   * The slab this file's table lives in, from `base` on, room for `cap` numbers: sized from
   * the file's line count (about two nodes a line at most in block style), moved to a
   * larger room when flow style needs more.
   */
  private n: Int32Array;
  private base: number;
  private cap: number;
  /** Key of each node in its parent: a string in a mapping, an index in a sequence. */
  private readonly key: Array<string | number> = [];

  constructor(lines: number) {
    this.cap = STRIDE * (2 * lines + 2);
    this.base = reserve(this.cap);
    this.n = room;
  }

  get size(): number {
    return this.key.length;
  }

  add(kind: number, line: number, column: number): number {
    const i = this.key.length;
    if ((i + 1) * STRIDE > this.cap) {
      const cap = this.cap * 2;
      const base = reserve(cap);
      room.set(this.n.subarray(this.base, this.base + this.cap), base);
      this.n = room;
      this.base = base;
      this.cap = cap;
    }
    let o = this.base + i * STRIDE;
    const n = this.n;
    n[o++] = kind;
    n[o++] = line;
    n[o++] = column;
    n[o++] = 0;
    n[o++] = 0;
    n[o] = i + 1;
    this.key.push(-1);
    return i;
  }

  setKey(i: number, key: string | number, line: number, column: number): void {
    this.key[i] = key;
    this.n[this.base + i * STRIDE + 3] = line;
    this.n[this.base + i * STRIDE + 4] = column;
  }

  close(i: number): void {
    this.n[this.base + i * STRIDE + 5] = this.key.length;
  }

  pos(i: number): LineCol {
    const o = this.base + i * STRIDE;
    return { line: this.n[o + 1] as number, column: this.n[o + 2] as number };
  }

  /** Same answers as yaml-documents.ts gives from the `yaml` library's nodes. */
  locate(root: number, path: readonly (string | number)[], at: 'value' | 'key'): LineCol {
    const n = this.n;
    const b = this.base;
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const kind = n[b + node * STRIDE];
      if (kind === SCALAR) break;
      const want = kind === MAP ? String(path[i]) : path[i];
      const end = n[b + node * STRIDE + 5] as number;
      let c = node + 1;
      while (c < end && this.key[c] !== want) c = n[b + c * STRIDE + 5] as number;
      if (c >= end) break;
      if (i === path.length - 1 && at === 'key' && kind === MAP)
        return { line: n[b + c * STRIDE + 3] as number, column: n[b + c * STRIDE + 4] as number };
      node = c;
    }
    return this.pos(node);
  }
}

/**
 * Position tables are cut from shared slabs: a small typed array of its own per file costs
 * an allocation outside the heap and its tracking (measurable over 10,000 files). A slab
 * is never reused, only left behind when full, so a table stays valid as long as a
 * document refers to it; a table larger than a quarter slab gets a slab of its own. A
 * slab is 64 KiB: under malloc's mmap threshold, so a new one reuses freed memory instead
 * of faulting in fresh pages (with 1 MiB slabs the first write of each table showed).
 */
const SLAB = 1 << 14;
let slab = new Int32Array(SLAB);
let slabUsed = 0;
/** The array of the last reserve: the current slab, or a large table's own. */
let room = slab;

/** Room for `ints` numbers: `room` from the returned offset on. */
function reserve(ints: number): number {
  if (ints > SLAB / 4) {
    room = new Int32Array(ints);
    return 0;
  }
  if (slabUsed + ints > SLAB) {
    slab = new Int32Array(SLAB);
    slabUsed = 0;
  }
  room = slab;
  const base = slabUsed;
  slabUsed += ints;
  return base;
}

/**
 * Index of the `:` that ends a plain key starting at `at` (`[A-Za-z_][A-Za-z0-9_./-]*:` then
 * a space or the end), else -1.
 */
function keyEnd(line: string, at: number): number {
  let c = line.charCodeAt(at);
  if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95)) return -1;
  let h = c;
  let i = at + 1;
  for (; ; i++) {
    c = line.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 45 && c <= 57) || c === 95)) break; // 45-57: - . / 0-9
    h = (Math.imul(h, 31) + c) | 0;
  }
  lastKeyHash = h;
  if (c !== COLON) return -1;
  return i + 1 === line.length || line.charCodeAt(i + 1) === SPACE ? i : -1;
}

/** A hash of the characters of the key keyEnd last scanned. */
let lastKeyHash = 0;

/**
 * Keys met before, by lastKeyHash: a file's keys are nearly all ones earlier files had
 * (apiVersion, metadata, name, steps, …). Handing back the same string, already a property
 * name, spares the slice and the string table lookup that a fresh string costs at `in`
 * and at the store; a key whose hash another key holds is simply sliced.
 */
const knownKeys = new Map<number, string>();
const MAX_KNOWN_KEYS = 4096;

/** The key from `at` to `end` of line, whose hash keyEnd just computed; undefined for a key left to yaml. */
function keyAt(line: string, at: number, end: number): string | undefined {
  const known = knownKeys.get(lastKeyHash);
  if (known !== undefined && known.length === end - at && line.startsWith(known, at)) return known;
  const key = line.slice(at, end);
  if (key === '__proto__' || badKey(key)) return undefined;
  if (knownKeys.size < MAX_KNOWN_KEYS && known === undefined) {
    // A computed property name comes back from Object.keys as the internalised string.
    const name = Object.keys({ [key]: 0 })[0] as string;
    knownKeys.set(lastKeyHash, name);
    return name;
  }
  return key;
}

/** A character that cannot start a plain scalar: & * ! % @ ` ? | > : (RESERVED_START). */
function isReservedStart(c: number): boolean {
  return (
    c === 38 ||
    c === 42 ||
    c === 33 ||
    c === 37 ||
    c === 64 ||
    c === 96 ||
    c === 63 ||
    c === 124 ||
    c === 62 ||
    c === 58
  );
}

/** `-` alone or `- ` at `at`: a sequence entry. */
function isDashAt(line: string, at: number): boolean {
  return line.charCodeAt(at) === DASH && (at + 1 === line.length || line.charCodeAt(at + 1) === SPACE);
}

let indentScratch = new Int32Array(1024);

class FastParser {
  private readonly lines: string[];
  /** Indent of each line, or -1 for a line without content (blank or only a comment). */
  private readonly indents: Int32Array;
  private readonly positions: Positions;
  private readonly items: unknown[] = [];
  private i = 0;
  /**
   * Collections open around the current node. Deeper than MAX_NESTING is left to the
   * caller's depth scan (yaml-depth.ts), so what this reader returns is never deeper and
   * needs no scan of its own.
   */
  private depth = 0;

  constructor(text: string) {
    this.lines = text.split('\n');
    this.positions = new Positions(this.lines.length);
    // Only this parse reads the indents, and parses do not nest: one array serves them all.
    if (indentScratch.length < this.lines.length) indentScratch = new Int32Array(2 * this.lines.length);
    this.indents = indentScratch;
    for (let j = 0; j < this.lines.length; j++) {
      const line = this.lines[j] as string;
      const k = indentOf(line);
      this.indents[j] = k < line.length && line.charCodeAt(k) !== HASH ? k : -1;
    }
  }

  documents(): YamlDocument[] {
    const docs: YamlDocument[] = [];
    for (;;) {
      const j = this.skipBlank();
      if (j >= this.lines.length) break;
      const line = this.lines[j] as string;
      if (line.startsWith('---')) {
        if (!/^---\s*$/.test(line)) bail();
        this.i = j + 1;
        continue;
      }
      if (line.startsWith('...') || line.startsWith('%')) bail();
      if (this.indents[j] !== 0) bail();
      const root = this.positions.size;
      const value = this.block(0);
      const end = this.skipBlank();
      if (end < this.lines.length && !(this.lines[end] as string).startsWith('---')) bail();
      if (value !== null) docs.push(makeDoc(value, this.positions, root));
    }
    return docs;
  }

  /** Next line that holds content (not blank, not only a comment). */
  private skipBlank(): number {
    let j = this.i;
    while (j < this.lines.length && (this.indents[j] as number) < 0) j++;
    this.i = j;
    return j;
  }

  /**
   * The next content line of a block whose entries sit at `indent`, or -1 where the block
   * ends (end of input, a shallower line, a document marker); a deeper line is outside
   * the subset.
   */
  private nextAt(indent: number): number {
    const j = this.skipBlank();
    if (j >= this.lines.length) return -1;
    const line = this.lines[j] as string;
    const ind = this.indents[j] as number;
    if (ind < indent || line.startsWith('---') || line.startsWith('...')) return -1;
    if (ind > indent) bail();
    return j;
  }

  /** A block node starting at the current content line, whose indent is `indent`; its node is the next position. */
  private block(indent: number): unknown {
    const line = this.lines[this.i] as string;
    if (isDashAt(line, indent)) return this.seq(indent);
    if (keyEnd(line, indent) >= 0) return this.map(indent);
    // A scalar alone on its line(s): only a one-line scalar is in the subset.
    const lineNo = this.i;
    const r = this.inline(line, indent, lineNo);
    this.i = lineNo + 1;
    return r;
  }

  private map(indent: number): unknown {
    if (++this.depth > MAX_NESTING) bail();
    const out: Record<string, unknown> = {};
    const P = this.positions;
    const me = P.add(MAP, this.i + 1, indent + 1);
    for (let j = this.nextAt(indent); j >= 0; j = this.nextAt(indent)) {
      const line = this.lines[j] as string;
      const colon = keyEnd(line, indent);
      if (colon < 0) bail();
      const key = keyAt(line, indent, colon) ?? bail();
      if (key in out) bail();
      let col = colon + 1;
      while (line.charCodeAt(col) === SPACE) col++;
      const child = P.size;
      out[key] = this.value(line, col, j, indent, j + 1, indent + 1);
      P.setKey(child, key, j + 1, indent + 1);
    }
    P.close(me);
    this.depth--;
    return out;
  }

  private seq(indent: number): unknown {
    // Items gather on a stack shared by every sequence of the file and leave it as an array
    // of exactly their number: an array grown by push keeps room for 17 items.
    if (++this.depth > MAX_NESTING) bail();
    const items = this.items;
    const base = items.length;
    const P = this.positions;
    const me = P.add(SEQ, this.i + 1, indent + 1);
    for (let j = this.nextAt(indent); j >= 0; j = this.nextAt(indent)) {
      const line = this.lines[j] as string;
      if (!isDashAt(line, indent)) break; // a key at the same indent ends a `key:\n- x` sequence
      let col = indent + 1;
      while (line.charCodeAt(col) === SPACE) col++;
      const child = P.size;
      let value: unknown;
      if (col >= line.length || line.charCodeAt(col) === HASH) {
        // `-` alone: the item is the block below (or null).
        this.i = j + 1;
        const k = this.skipBlank();
        const next = this.lines[k];
        const ind = this.indents[k] ?? -1;
        if (next !== undefined && ind > indent && !next.startsWith('---')) value = this.block(ind);
        else {
          P.add(SCALAR, j + 1, indent + 1);
          value = null;
        }
      } else if (keyEnd(line, col) >= 0 || isDashAt(line, col)) {
        // A compact mapping or sequence in the item: the same as if the dash were a space.
        this.lines[j] = ' '.repeat(col) + line.slice(col);
        this.indents[j] = col;
        this.i = j;
        value = this.block(col);
      } else {
        value = this.value(line, col, j, indent, j + 1, indent + 1);
      }
      P.setKey(child, items.length - base, 0, 0);
      items.push(value);
    }
    P.close(me);
    const out = items.slice(base);
    items.length = base;
    this.depth--;
    return out;
  }

  /** The value after `key:` or `- ` at column col of line j, inside a block of `indent`. */
  private value(line: string, col: number, j: number, indent: number, keyLine: number, keyColumn: number): unknown {
    if (col >= line.length || line.charCodeAt(col) === HASH) {
      this.i = j + 1;
      const k = this.skipBlank();
      const next = this.lines[k];
      if (next !== undefined && !next.startsWith('---') && !next.startsWith('...')) {
        const ind = this.indents[k] as number;
        if (ind > indent) return this.block(ind);
        // `key:` followed by a sequence at the key's own indent.
        if (ind === indent && isDashAt(next, ind) && keyEnd(line, indent) >= 0) return this.seq(ind);
      }
      this.positions.add(SCALAR, keyLine, keyColumn);
      return null;
    }
    const c = line.charCodeAt(col);
    if (c === 124 /* | */ || c === 62 /* > */) return this.blockScalar(line.slice(col), j, indent, col);
    const r = this.inline(line, col, j);
    this.i = j + 1;
    return r;
  }

  /** A scalar or flow collection that ends on this line. */
  private inline(line: string, col: number, j: number): unknown {
    const c = line.charCodeAt(col);
    if (c === 34 /* " */ || c === 39 /* ' */) {
      this.positions.add(SCALAR, j + 1, col + 1);
      const value = c === 34 ? doubleQuoted(line, col) : singleQuoted(line, col);
      trailing(line, quotedEnd);
      return value;
    }
    if (c === 91 /* [ */ || c === 123 /* { */) {
      const flow = new FlowReader(line, col, j, this.positions, this.depth);
      const value = flow.node();
      trailing(line, flow.p);
      return value;
    }
    if (
      isReservedStart(c) ||
      (c === DASH && line.charCodeAt(col + 1) === SPACE) ||
      c === 125 /* } */ ||
      c === 93 /* ] */ ||
      c === 44 /* , */
    )
      bail();
    let end = line.indexOf(' #', col);
    if (end < 0) end = line.length;
    let text = line.slice(col, end);
    const last = text.charCodeAt(text.length - 1);
    if (last <= SPACE || last > 126) text = text.trimEnd();
    if (text.includes(': ') || text.charCodeAt(text.length - 1) === COLON || text === '-') bail();
    this.positions.add(SCALAR, j + 1, col + 1);
    return plain(text);
  }

  private blockScalar(header: string, j: number, indent: number, col: number): unknown {
    const m = /^([|>])([-+]?)(?:\s+#.*)?\s*$/.exec(header);
    if (!m) bail();
    const [, style, chomp] = m as RegExpExecArray;
    const body: string[] = [];
    let blockIndent = -1;
    let k = j + 1;
    for (; k < this.lines.length; k++) {
      const l = this.lines[k] as string;
      if (l.trim() === '') {
        // Whitespace-only lines keep spaces beyond the block's indent, and before the first
        // line they take part in indentation detection: both are left to yaml.
        if (l.length > 0 && (blockIndent < 0 || l.length > blockIndent)) bail();
        body.push('');
        continue;
      }
      const ind = indentOf(l);
      if (blockIndent < 0) {
        if (ind <= indent) break;
        blockIndent = ind;
      }
      if (ind < blockIndent) break;
      body.push(l.slice(blockIndent));
    }
    // Trailing blank lines belong to chomping, and the lines after them to the parent.
    let last = body.length;
    while (last > 0 && body[last - 1] === '') last--;
    const trailingBlank = body.length - last;
    const lines = body.slice(0, last);
    this.i = j + 1 + lines.length + trailingBlank;
    if (blockIndent < 0 || lines.length === 0) bail(); // empty block scalars: leave to yaml
    if (chomp === '+') bail();
    let text: string;
    if (style === '|') {
      text = lines.join('\n');
    } else {
      if (lines.some((l) => l === '' || l.startsWith(' ') || l.endsWith(' '))) bail(); // folding beyond the simple case
      text = lines.join(' ');
    }
    if (chomp !== '-') text += '\n';
    this.positions.add(SCALAR, j + 1, col + 1);
    return text;
  }
}

/** One-line flow collections: `[a, "b", {c: 1}]`, read from offset `p` of the line. */
class FlowReader {
  constructor(
    private readonly s: string,
    public p: number,
    private readonly lineNo: number,
    private readonly positions: Positions,
    /** Collections open around this one, block ones included. */
    private depth: number,
  ) {}

  private spaces(): void {
    while (this.s.charCodeAt(this.p) === SPACE) this.p++;
  }

  node(): unknown {
    this.spaces();
    const s = this.s;
    const P = this.positions;
    const line = this.lineNo + 1;
    const column = this.p + 1;
    const c = s[this.p];
    if ((c === '[' || c === '{') && ++this.depth > MAX_NESTING) bail();
    if (c === '[') {
      const me = P.add(SEQ, line, column);
      this.p++;
      this.spaces();
      if (s[this.p] === ']') {
        this.p++;
        P.close(me);
        this.depth--;
        return [];
      }
      const items: unknown[] = [];
      for (;;) {
        const child = P.size;
        const item = this.node();
        P.setKey(child, items.length, 0, 0);
        items.push(item);
        this.spaces();
        const d = s[this.p++];
        if (d === ']') {
          P.close(me);
          this.depth--;
          return items.slice(); // exact size, as for block sequences
        }
        if (d !== ',') bail();
        this.spaces();
        if (s[this.p] === ']') bail(); // trailing comma
      }
    }
    if (c === '{') {
      const me = P.add(MAP, line, column);
      this.p++;
      const out: Record<string, unknown> = {};
      this.spaces();
      if (s[this.p] === '}') {
        this.p++;
        P.close(me);
        this.depth--;
        return out;
      }
      for (;;) {
        this.spaces();
        const keyColumn = this.p + 1;
        const colon = keyEnd(s, this.p);
        if (colon < 0 || s.charCodeAt(colon + 1) !== SPACE) bail();
        const key = keyAt(s, this.p, colon) ?? bail();
        if (key in out) bail();
        this.p = colon + 1;
        this.spaces();
        const child = P.size;
        out[key] = this.node();
        P.setKey(child, key, line, keyColumn);
        this.spaces();
        const d = s[this.p++];
        if (d === '}') {
          P.close(me);
          this.depth--;
          return out;
        }
        if (d !== ',') bail();
        this.spaces();
        if (s[this.p] === '}') bail();
      }
    }
    if (c === '"' || c === "'") {
      P.add(SCALAR, line, column);
      const value = c === '"' ? doubleQuoted(s, this.p) : singleQuoted(s, this.p);
      this.p = quotedEnd;
      return value;
    }
    let e = this.p;
    for (; e < s.length; e++) {
      const d = s.charCodeAt(e);
      // , [ ] { } #
      if (d === 44 || d === 91 || d === 93 || d === 123 || d === 125 || d === HASH) break;
    }
    const text = s.slice(this.p, e).trimEnd();
    if (text === '' || RESERVED_START.test(text) || text.startsWith('- ') || text.includes(': ') || text.endsWith(':'))
      bail();
    P.add(SCALAR, line, column);
    this.p = e;
    return plain(text);
  }
}

/** Only spaces and a comment may follow a closed scalar or collection. */
function trailing(s: string, end: number): void {
  if (end >= s.length) return;
  const t = s.slice(end);
  if (t.trim() !== '' && !/^\s+#/.test(t)) bail();
}

function plain(text: string): unknown {
  // Most scalars are words: only a few first characters can start a null, bool or number
  // (`-+.0-9~nNtTfF`, or the empty string).
  const c = text.charCodeAt(0);
  if (
    !(
      text.length === 0 ||
      (c >= 48 && c <= 57) ||
      c === 45 ||
      c === 43 ||
      c === 46 ||
      c === 126 ||
      c === 110 ||
      c === 78 ||
      c === 116 ||
      c === 84 ||
      c === 102 ||
      c === 70
    )
  )
    return text;
  if (NULL.test(text)) return null;
  if (BOOL.test(text)) return text[0] === 't' || text[0] === 'T';
  if (INT.test(text)) return parseInt(text, 10);
  if (FLOAT.test(text)) return parseFloat(text);
  if (OTHER_NUMBER.test(text)) bail();
  return text;
}

/** Where the last quoted scalar read ended (the offset after its closing quote). */
let quotedEnd = 0;

const ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  '/': '/',
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  b: '\b',
  f: '\f',
  e: '\x1b',
  a: '\x07',
  v: '\v',
  ' ': ' ',
};

function doubleQuoted(s: string, start: number): string {
  // Most quoted scalars have no escape: one slice instead of a string built a character at a time.
  const close = s.indexOf('"', start + 1);
  if (close >= 0) {
    const backslash = s.indexOf('\\', start + 1);
    if (backslash < 0 || backslash > close) {
      quotedEnd = close + 1;
      return s.slice(start + 1, close);
    }
  }
  let out = '';
  let p = start + 1;
  for (;;) {
    const c = s[p];
    if (c === undefined) bail(); // continues on the next line
    if (c === '"') {
      quotedEnd = p + 1;
      return out;
    }
    if (c === '\\') {
      const e = s[p + 1] as string;
      if (e in ESCAPES) {
        out += ESCAPES[e];
        p += 2;
      } else if (e === 'u' || e === 'x' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = s.slice(p + 2, p + 2 + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) bail();
        out += String.fromCodePoint(parseInt(hex, 16));
        p += 2 + n;
      } else {
        bail();
      }
      continue;
    }
    out += c;
    p++;
  }
}

function singleQuoted(s: string, start: number): string {
  const close = s.indexOf("'", start + 1);
  if (close >= 0 && s.charCodeAt(close + 1) !== 39) {
    quotedEnd = close + 1;
    return s.slice(start + 1, close);
  }
  let out = '';
  let p = start + 1;
  for (;;) {
    const c = s[p];
    if (c === undefined) bail();
    if (c === "'") {
      if (s[p + 1] === "'") {
        out += "'";
        p += 2;
        continue;
      }
      quotedEnd = p + 1;
      return out;
    }
    out += c;
    p++;
  }
}

/** Keys yaml would read as null or a boolean (then stringify): left to yaml. */
function badKey(key: string): boolean {
  return key.length <= 5 && NULL_OR_BOOL_KEYS.has(key);
}

/** Every string of at most five characters NULL or BOOL matches (the empty key cannot occur). */
const NULL_OR_BOOL_KEYS = new Set(['~', 'null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);

function indentOf(line: string): number {
  let n = 0;
  while (line.charCodeAt(n) === 32) n++;
  return n;
}

function makeDoc(value: unknown, positions: Positions, root: number): YamlDocument {
  return {
    value,
    start: positions.pos(root),
    locate: (path, at = 'value') => positions.locate(root, path, at),
  };
}
