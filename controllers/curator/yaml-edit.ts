// Minimal-diff edits of YAML files. The yaml Document API locates nodes (with their
// source ranges); each edit is then a splice of the original text, so comments, key
// order, quoting and indentation everywhere else stay byte-for-byte as they were and a
// reviewer sees only the intended lines change.

import {
  parseAllDocuments,
  stringify,
  isMap,
  isScalar,
  isSeq,
  type Document,
  type Node,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';

interface Splice {
  start: number;
  end: number;
  text: string;
}

export class YamlEditor {
  readonly docs: Document.Parsed[];
  private readonly splices: Splice[] = [];

  constructor(readonly text: string) {
    this.docs = parseAllDocuments(text) as Document.Parsed[];
  }

  /** The document declaring kind/name, with its index in the file. */
  findDoc(kind: string, name: string): { doc: Document.Parsed; index: number } | undefined {
    for (let i = 0; i < this.docs.length; i++) {
      const doc = this.docs[i] as Document.Parsed;
      if (doc.get('kind') === kind && doc.getIn(['metadata', 'name']) === name) return { doc, index: i };
    }
    return undefined;
  }

  /** Replaces a scalar's value, keeping its quoting style. */
  replaceScalar(node: Scalar, value: string): void {
    const [start, end] = rangeOf(node);
    this.splices.push({ start, end, text: renderScalar(value, node.type) });
  }

  /** Removes one item from a sequence (block: its lines; flow: the sequence is re-rendered). */
  removeSeqItem(seq: YAMLSeq, index: number): void {
    const items = seq.items as Node[];
    if (seq.flow) {
      const [start, end] = rangeOf(seq);
      const kept = items.filter((_, i) => i !== index).map((it) => this.sourceOf(it));
      this.splices.push({ start, end, text: `[${kept.join(', ')}]` });
      return;
    }
    const item = items[index];
    if (!item) return;
    if (items.length === 1) {
      // An empty block sequence has no lines of its own: write it in flow style.
      const [start] = rangeOf(seq);
      this.splices.push({ start, end: this.lineEnd(rangeOf(item)[1] - 1), text: '[]\n' });
      return;
    }
    const [s, e] = rangeOf(item);
    this.splices.push({ start: this.lineStart(s), end: this.lineEnd(e - 1), text: '' });
  }

  /** Rewrites a flow sequence of scalars with new values. */
  setFlowItems(seq: YAMLSeq, values: string[]): void {
    const [start, end] = rangeOf(seq);
    this.splices.push({ start, end, text: `[${values.map((v) => stringify(v).trim()).join(', ')}]` });
  }

  /** Appends items (plain JS values) to a sequence in the style of its existing items. */
  appendSeqItems(seq: YAMLSeq, values: unknown[]): void {
    if (values.length === 0) return;
    const items = seq.items as Node[];
    const [start, end] = rangeOf(seq);
    if (seq.flow || items.length === 0) {
      const all = [
        ...items.map((it) => this.sourceOf(it)),
        ...values.map((v) => stringify(v, { collectionStyle: 'flow' }).trim()),
      ];
      this.splices.push({ start, end, text: `[${all.join(', ')}]` });
      return;
    }
    const dashCol = this.column(start);
    const contentCol = this.column(rangeOf(items[0] as Node)[0]);
    const last = items[items.length - 1] as Node;
    const at = this.lineEnd(rangeOf(last)[1] - 1);
    const text = values.map((v) => renderItem(v, dashCol, contentCol)).join('');
    this.splices.push({ start: at, end: at, text: this.needsNewline(at) + text });
  }

  /** Replaces every item of a sequence with `values` (plain JS values), keeping its style and indentation. */
  replaceSeqItems(seq: YAMLSeq, values: unknown[]): void {
    const items = seq.items as Node[];
    const [start, end] = rangeOf(seq);
    if (seq.flow || items.length === 0 || values.length === 0) {
      const flow = values.map((v) => stringify(v, { collectionStyle: 'flow' }).trim());
      // A block sequence's range ends after its last line; a flow one on its `]`.
      const to = seq.flow || items.length === 0 ? end : this.lineEnd(rangeOf(items[items.length - 1] as Node)[1] - 1);
      this.splices.push({ start, end: to, text: `[${flow.join(', ')}]${to === end ? '' : '\n'}` });
      return;
    }
    const dashCol = this.column(start);
    const contentCol = this.column(rangeOf(items[0] as Node)[0]);
    const from = this.lineStart(start);
    const to = this.lineEnd(rangeOf(items[items.length - 1] as Node)[1] - 1);
    this.splices.push({ start: from, end: to, text: values.map((v) => renderItem(v, dashCol, contentCol)).join('') });
  }

  /** Adds `key: value` at the end of a block mapping, indented like its other keys. */
  addMapPair(map: YAMLMap, key: string, value: unknown, seqIndent: number): void {
    const pairs = map.items;
    const first = pairs[0];
    const last = pairs[pairs.length - 1];
    if (!first || !last || map.flow) throw new Error(`cannot add ${key} to an empty or flow mapping`);
    const keyCol = this.column(rangeOf(first.key as Node)[0]);
    const lastEnd = last.value ? rangeOf(last.value as Node)[1] : rangeOf(last.key as Node)[1];
    const at = this.lineEnd(lastEnd - 1);
    let text: string;
    if (Array.isArray(value) && value.length > 0) {
      const dashCol = keyCol + seqIndent;
      text = `${' '.repeat(keyCol)}${key}:\n${value.map((v) => renderItem(v, dashCol, dashCol + 2)).join('')}`;
    } else {
      text = `${' '.repeat(keyCol)}${key}: ${stringify(value, { collectionStyle: 'flow' }).trim()}\n`;
    }
    this.splices.push({ start: at, end: at, text: this.needsNewline(at) + text });
  }

  /** Removes a whole document (and its `---` marker) from a multi-document file. */
  removeDocument(index: number): void {
    const doc = this.docs[index];
    if (!doc) return;
    const [start, , end] = doc.range;
    this.splices.push({ start, end, text: '' });
  }

  /** The source text of one document, starting at its `---` or first line. */
  documentSource(index: number): string {
    const doc = this.docs[index];
    if (!doc) return '';
    const text = this.text.slice(doc.range[0], doc.range[2]).replace(/^---[ \t]*\r?\n/, '');
    return text.endsWith('\n') ? text : `${text}\n`;
  }

  /** How far block sequences are indented under their key in one document (else the file): 0 or 2. */
  seqIndent(docIndex?: number): number {
    const doc = docIndex === undefined ? undefined : this.docs[docIndex];
    const text = doc ? this.text.slice(doc.range[0], doc.range[2]) : this.text;
    const m = /^( *)[A-Za-z_][\w-]*:[ \t]*\r?\n( *)- /m.exec(text);
    if (!m && doc) return this.seqIndent();
    return m ? Math.max(0, (m[2] as string).length - (m[1] as string).length) : 2;
  }

  changed(): boolean {
    return this.splices.length > 0;
  }

  /** The edited text. Splices must not overlap. */
  result(): string {
    // From the end backwards; inserts at one spot go in the order they were made.
    const sorted = this.splices
      .map((s, i) => ({ ...s, i }))
      .sort((a, b) => b.start - a.start || b.end - a.end || b.i - a.i);
    let out = this.text;
    let floor = Infinity;
    for (const s of sorted) {
      if (s.end > floor) throw new Error('overlapping YAML edits');
      out = out.slice(0, s.start) + s.text + out.slice(s.end);
      floor = s.start;
    }
    return out;
  }

  private sourceOf(node: Node): string {
    const [s, e] = rangeOf(node);
    return this.text.slice(s, e).trim();
  }

  private lineStart(pos: number): number {
    return this.text.lastIndexOf('\n', pos - 1) + 1;
  }

  /** Offset just past the newline ending the line that holds pos (or the end of text). */
  private lineEnd(pos: number): number {
    const nl = this.text.indexOf('\n', Math.max(0, pos));
    return nl === -1 ? this.text.length : nl + 1;
  }

  private column(pos: number): number {
    return pos - this.lineStart(pos);
  }

  private needsNewline(at: number): string {
    return at > 0 && this.text[at - 1] !== '\n' ? '\n' : '';
  }
}

function rangeOf(node: Node): [number, number, number] {
  if (!node.range) throw new Error('YAML node without a source range');
  return node.range;
}

function renderScalar(value: string, type: Scalar['type']): string {
  if (type === 'QUOTE_DOUBLE') return JSON.stringify(value);
  if (type === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
  return stringify(value).trim();
}

/** One block-sequence item: `- ` at dashCol, continuation lines at contentCol. */
function renderItem(value: unknown, dashCol: number, contentCol: number): string {
  const body = stringify(value, { indent: 2 }).replace(/\n$/, '').split('\n');
  const lines = body.map((l, i) =>
    i === 0
      ? `${' '.repeat(dashCol)}-${' '.repeat(Math.max(1, contentCol - dashCol - 1))}${l}`
      : `${' '.repeat(contentCol)}${l}`,
  );
  return `${lines.join('\n')}\n`;
}

export { isMap, isScalar, isSeq };
