// A fast reader for the plain subset of YAML that configuration files are written in
// (block mappings and sequences, one-line scalars and flow collections, literal and
// simple folded block scalars, comments). The `yaml` library costs ~300 µs per small
// document on this machine, which puts a 10,000-skill repository far over its load
// budget; this reader is ~10× faster. It is deliberately conservative: anything outside
// the subset (anchors, aliases, tags, directives, multi-line plain or quoted scalars,
// complex keys, duplicate keys, tabs, CRLF, anything it is unsure of) returns undefined
// and the caller parses the file with `yaml`, which also produces every error message.
// test/reconciler/yaml-fast-path.test.ts checks it against `yaml` value for value.

import type { LineCol, YamlDocument } from './yaml-documents.js';

class Unsupported extends Error {}
const bail = (): never => {
  throw new Unsupported();
};

interface PosNode {
  pos: LineCol;
  keys?: Map<string, LineCol>;
  kids?: Map<string | number, PosNode>;
}

const KEY = /^([A-Za-z_][A-Za-z0-9_./-]*):(?: +|$)/;
/** KEY at a given offset without slicing the line (the hottest loop of the reader). */
const KEY_AT = /([A-Za-z_][A-Za-z0-9_./-]*):(?: +|$)/y;
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$/;
const OTHER_NUMBER = /^(?:0o|0x|[-+]?\.(?:inf|Inf|INF)$|\.nan$|\.NaN$|\.NAN$)/;
const RESERVED_START = /^[&*!%@`?|>:]/;
const MAYBE_TYPED = /^(?:[-+.0-9~nNtTfF]|$)/;

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

class FastParser {
  private readonly lines: string[];
  private i = 0;

  constructor(text: string) {
    this.lines = text.split('\n');
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
      if (indentOf(line) !== 0) bail();
      const node = this.block(0);
      const end = this.skipBlank();
      if (end < this.lines.length && !(this.lines[end] as string).startsWith('---')) bail();
      if (node.value !== null) docs.push(makeDoc(node.value, node.pos));
    }
    return docs;
  }

  /** Next line that holds content (not blank, not only a comment). */
  private skipBlank(): number {
    let j = this.i;
    while (j < this.lines.length) {
      const line = this.lines[j] as string;
      const k = indentOf(line);
      if (k < line.length && line.charCodeAt(k) !== 35 /* # */) break;
      j++;
    }
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
    const ind = indentOf(line);
    if (ind < indent || line.startsWith('---') || line.startsWith('...')) return -1;
    if (ind > indent) bail();
    return j;
  }

  /** A block node starting at the current content line, whose indent is `indent`. */
  private block(indent: number): { value: unknown; pos: PosNode } {
    const line = this.lines[this.i] as string;
    const rest = line.slice(indent);
    if (rest === '-' || rest.startsWith('- ')) return this.seq(indent);
    if (KEY.test(rest)) return this.map(indent);
    // A scalar alone on its line(s): only a one-line scalar is in the subset.
    const lineNo = this.i;
    const r = this.inline(line, indent, lineNo);
    this.i = lineNo + 1;
    return r;
  }

  private map(indent: number): { value: unknown; pos: PosNode } {
    const out: Record<string, unknown> = {};
    const pos: PosNode = { pos: { line: this.i + 1, column: indent + 1 }, keys: new Map(), kids: new Map() };
    for (let j = this.nextAt(indent); j >= 0; j = this.nextAt(indent)) {
      const line = this.lines[j] as string;
      KEY_AT.lastIndex = indent;
      const m = KEY_AT.exec(line);
      if (!m) bail();
      const key = (m as RegExpExecArray)[1] as string;
      if (key === '__proto__' || key in out || badKey(key)) bail();
      pos.keys?.set(key, { line: j + 1, column: indent + 1 });
      const col = indent + (m as RegExpExecArray)[0].length;
      const child = this.value(line, col, j, indent, { line: j + 1, column: indent + 1 });
      out[key] = child.value;
      pos.kids?.set(key, child.pos);
    }
    return { value: out, pos };
  }

  private seq(indent: number): { value: unknown; pos: PosNode } {
    const out: unknown[] = [];
    const pos: PosNode = { pos: { line: this.i + 1, column: indent + 1 }, kids: new Map() };
    for (let j = this.nextAt(indent); j >= 0; j = this.nextAt(indent)) {
      const line = this.lines[j] as string;
      const rest = line.slice(indent);
      if (!(rest === '-' || rest.startsWith('- '))) break; // a key at the same indent ends a `key:\n- x` sequence
      const content = rest.slice(1).search(/\S/);
      let child: { value: unknown; pos: PosNode };
      if (content < 0 || rest[content + 1] === '#') {
        // `-` alone: the item is the block below (or null).
        this.i = j + 1;
        const k = this.skipBlank();
        const next = this.lines[k];
        if (k < this.lines.length && next !== undefined && indentOf(next) > indent && !next.startsWith('---'))
          child = this.block(indentOf(next));
        else child = { value: null, pos: { pos: { line: j + 1, column: indent + 1 } } };
      } else {
        const col = indent + 1 + content;
        const after = line.slice(col);
        if (KEY.test(after) || after === '-' || after.startsWith('- ')) {
          // A compact mapping or sequence in the item: the same as if the dash were a space.
          this.lines[j] = ' '.repeat(col) + after;
          this.i = j;
          child = this.block(col);
        } else {
          child = this.value(line, col, j, indent, { line: j + 1, column: indent + 1 });
        }
      }
      pos.kids?.set(out.length, child.pos);
      out.push(child.value);
    }
    return { value: out, pos };
  }

  /** The value after `key:` or `- ` at column col of line j, inside a block of `indent`. */
  private value(
    line: string,
    col: number,
    j: number,
    indent: number,
    keyPos: LineCol,
  ): { value: unknown; pos: PosNode } {
    const rest = line.slice(col);
    if (rest === '' || rest.startsWith('#')) {
      this.i = j + 1;
      const k = this.skipBlank();
      const next = this.lines[k];
      if (k < this.lines.length && next !== undefined && !next.startsWith('---') && !next.startsWith('...')) {
        const ind = indentOf(next);
        if (ind > indent) return this.block(ind);
        // `key:` followed by a sequence at the key's own indent.
        if (ind === indent && (next.slice(ind) === '-' || next.slice(ind).startsWith('- ')) && this.inMap(line, indent))
          return this.seq(ind);
      }
      return { value: null, pos: { pos: keyPos } };
    }
    if (rest[0] === '|' || rest[0] === '>') return this.blockScalar(rest, j, indent, col);
    const r = this.inline(line, col, j);
    this.i = j + 1;
    return r;
  }

  private inMap(line: string, indent: number): boolean {
    return KEY.test(line.slice(indent));
  }

  /** A scalar or flow collection that ends on this line. */
  private inline(line: string, col: number, j: number): { value: unknown; pos: PosNode } {
    const at: LineCol = { line: j + 1, column: col + 1 };
    const rest = line.slice(col);
    const c = rest[0];
    if (c === '"' || c === "'") {
      const { value, end } = c === '"' ? doubleQuoted(rest, 0) : singleQuoted(rest, 0);
      trailing(rest, end);
      return { value, pos: { pos: at } };
    }
    if (c === '[' || c === '{') {
      const flow = new FlowReader(rest, j, col);
      const r = flow.node();
      trailing(rest, flow.p);
      return r;
    }
    if (
      RESERVED_START.test(rest) ||
      rest.startsWith('- ') ||
      rest.startsWith(': ') ||
      c === '}' ||
      c === ']' ||
      c === ','
    )
      bail();
    let end = rest.indexOf(' #');
    if (end < 0) end = rest.length;
    const text = rest.slice(0, end).trimEnd();
    if (text.includes(': ') || text.endsWith(':') || text === '-') bail();
    return { value: plain(text), pos: { pos: at } };
  }

  private blockScalar(header: string, j: number, indent: number, col: number): { value: unknown; pos: PosNode } {
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
    return { value: text, pos: { pos: { line: j + 1, column: col + 1 } } };
  }
}

/** One-line flow collections: `[a, "b", {c: 1}]`. */
class FlowReader {
  p = 0;
  constructor(
    private readonly s: string,
    private readonly line: number,
    private readonly col: number,
  ) {}

  private at(): LineCol {
    return { line: this.line + 1, column: this.col + this.p + 1 };
  }

  private spaces(): void {
    while (this.s[this.p] === ' ') this.p++;
  }

  node(): { value: unknown; pos: PosNode } {
    this.spaces();
    const pos = this.at();
    const c = this.s[this.p];
    if (c === '[') {
      this.p++;
      const out: unknown[] = [];
      const kids = new Map<string | number, PosNode>();
      this.spaces();
      if (this.s[this.p] === ']') {
        this.p++;
        return { value: out, pos: { pos, kids } };
      }
      for (;;) {
        const item = this.node();
        kids.set(out.length, item.pos);
        out.push(item.value);
        this.spaces();
        const d = this.s[this.p++];
        if (d === ']') return { value: out, pos: { pos, kids } };
        if (d !== ',') bail();
        this.spaces();
        if (this.s[this.p] === ']') bail(); // trailing comma
      }
    }
    if (c === '{') {
      this.p++;
      const out: Record<string, unknown> = {};
      const kids = new Map<string | number, PosNode>();
      const keys = new Map<string, LineCol>();
      this.spaces();
      if (this.s[this.p] === '}') {
        this.p++;
        return { value: out, pos: { pos, kids, keys } };
      }
      for (;;) {
        this.spaces();
        const keyAt = this.at();
        const m = /^([A-Za-z_][A-Za-z0-9_./-]*): +/.exec(this.s.slice(this.p));
        if (!m) bail();
        const key = (m as RegExpExecArray)[1] as string;
        if (key === '__proto__' || key in out || badKey(key)) bail();
        this.p += (m as RegExpExecArray)[0].length;
        const v = this.node();
        out[key] = v.value;
        kids.set(key, v.pos);
        keys.set(key, keyAt);
        this.spaces();
        const d = this.s[this.p++];
        if (d === '}') return { value: out, pos: { pos, kids, keys } };
        if (d !== ',') bail();
        this.spaces();
        if (this.s[this.p] === '}') bail();
      }
    }
    if (c === '"' || c === "'") {
      const r = c === '"' ? doubleQuoted(this.s, this.p) : singleQuoted(this.s, this.p);
      this.p = r.end;
      return { value: r.value, pos: { pos } };
    }
    const m = /^[^,[\]{}#]*/.exec(this.s.slice(this.p)) as RegExpExecArray;
    const text = m[0].trimEnd();
    if (text === '' || RESERVED_START.test(text) || text.startsWith('- ') || text.includes(': ') || text.endsWith(':'))
      bail();
    this.p += m[0].length;
    return { value: plain(text), pos: { pos } };
  }
}

/** Only spaces and a comment may follow a closed scalar or collection. */
function trailing(s: string, end: number): void {
  const t = s.slice(end);
  if (t.trim() !== '' && !/^\s+#/.test(t)) bail();
}

function plain(text: string): unknown {
  // Most scalars are words: only a few first characters can start a null, bool or number.
  if (!MAYBE_TYPED.test(text)) return text;
  if (NULL.test(text)) return null;
  if (BOOL.test(text)) return text[0] === 't' || text[0] === 'T';
  if (INT.test(text)) return parseInt(text, 10);
  if (FLOAT.test(text)) return parseFloat(text);
  if (OTHER_NUMBER.test(text)) bail();
  return text;
}

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

function doubleQuoted(s: string, start: number): { value: string; end: number } {
  let out = '';
  let p = start + 1;
  for (;;) {
    const c = s[p];
    if (c === undefined) bail(); // continues on the next line
    if (c === '"') return { value: out, end: p + 1 };
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

function singleQuoted(s: string, start: number): { value: string; end: number } {
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
      return { value: out, end: p + 1 };
    }
    out += c;
    p++;
  }
}

/** Keys yaml would read as null or a boolean (then stringify): left to yaml. */
function badKey(key: string): boolean {
  return key.length <= 5 && (NULL.test(key) || BOOL.test(key));
}

function indentOf(line: string): number {
  let n = 0;
  while (line.charCodeAt(n) === 32) n++;
  return n;
}

function makeDoc(value: unknown, root: PosNode): YamlDocument {
  return {
    value,
    start: root.pos,
    locate(path, at = 'value') {
      let node = root;
      for (let i = 0; i < path.length; i++) {
        const seg = path[i] as string | number;
        if (i === path.length - 1 && at === 'key') {
          const k = node.keys?.get(String(seg));
          if (k) return k;
        }
        const next = node.kids?.get(typeof seg === 'number' && node.keys ? String(seg) : seg);
        if (!next) {
          const k = node.keys?.get(String(seg));
          return k ?? node.pos;
        }
        node = next;
      }
      return node.pos;
    },
  };
}
