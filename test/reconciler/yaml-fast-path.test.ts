// The fast YAML reader against the `yaml` library: wherever it accepts a file, every value
// and every node position (value and key) must be what `yaml` gives; outside its subset it
// must hand the file back (undefined) rather than guess.

import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFastPath } from '../../reconciler/yaml-fast-path.js';
import { MAX_NESTING } from '../../reconciler/yaml-depth.js';
import { parseYamlFile, type YamlDocument } from '../../reconciler/yaml-documents.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every path to a node of the value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push(...paths(v, [...prefix, i]));
    });
  } else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function expectSame(text: string): 'fast' | 'fallback' {
  const fast = parseFastPath(text);
  if (!fast) return 'fallback';
  const slow = parseYamlFile(Buffer.from(text), { fastPath: false });
  expect(
    slow.findings.filter((f) => f.severity === 'error'),
    text,
  ).toEqual([]);
  expect(
    fast.map((d) => d.value),
    text,
  ).toEqual(slow.documents.map((d) => d.value));
  fast.forEach((d: YamlDocument, i) => {
    const s = slow.documents[i] as YamlDocument;
    expect(d.start, `${text}\nstart`).toEqual(s.start);
    for (const p of paths(d.value)) {
      expect(d.locate(p), `${text}\nvalue at ${p.join('/')}`).toEqual(s.locate(p));
      if (p.length > 0 && typeof p[p.length - 1] === 'string')
        expect(d.locate(p, 'key'), `${text}\nkey at ${p.join('/')}`).toEqual(s.locate(p, 'key'));
    }
  });
  return 'fast';
}

const ACCEPTED = [
  'a: 1\nb: -2\nc: 1.5\nd: .5\ne: 1e3\nf: +7\ng: 0012\nh: "x"\n' +
    "i: 'it''s'\nj: ~\nk: null\nl:\nm: true\nn: False\no: 1_000\np: 12:30\nq: http://x/y#z\n",
  '# comment\n\n---\na: [1, "two", {b: c, d: [e, f]}, []]\nb: {}\n--- \nc: d # trailing\n---\n',
  'list:\n- a\n- b: 1\n  c: 2\n-\n  - x\n  - y\n- - z\n  - w\nafter: 1\n',
  'steps:\n  - id: one\n    run: |\n      echo "$A"\n\n      echo b\n    timeout: 30s\n' +
    '  - run: >-\n      folded\n      text here\n  - run: |-\n      kept\n' +
    '  - run: |\n      trailing\n\n\nnext: x\n',
  'esc: "tab\\there \\u00e9 \\"q\\" \\\\ \\/"\nsq: \'a "b"\'\nurl: "http://127.0.0.1:8080/v1"\nempty: ""\n',
  'a:\n  b:\n    c:\n      - 1\n      - 2\n  d: e\n',
  'lit: |\n  keep  \n    more indented\n  # not a comment\nx: 1\n',
  'a:   spaced   \nb:\n  - [ 1 , 2 ]\n  - { k: v }\nc: \'\'\nd: "# not comment"\ne: a#b\n',
  'name:\n- x\n- y\nother: z\n',
  '---\n---\na: 1\n---\n# only a comment\n',
  'apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: s\n  labels: {team: ops}\n' +
    'spec:\n  params:\n    - {name: window, type: duration, default: 72h}\n' +
    '  steps:\n    - skill: {name: b, params: {count: 3, mode: "fast"}}\n',
];

const REFUSED = [
  'a: &x 1\nb: *x\n',
  'a: !tag x\n',
  'a: 1\na: 2\n',
  'a: b: c\n',
  'a: multi\n  line plain\n',
  'a: "multi\n  line"\n',
  '? complex\n: key\n',
  'a:\tb\n',
  'a: 1\r\nb: 2\r\n',
  '%YAML 1.2\n---\na: 1\n',
  '"quoted": key\n',
  'a: [1, 2,\n  3]\n',
  'a: [1, 2,]\n',
  'a: |+\n  keep\n\n',
  'a: >\n  one\n\n  two\n',
  '__proto__: x\n',
  'a: .inf\n',
  'a: 0x1F\n',
  '  indented: root\n',
  'a: b\n  c: d\n',
  'a:\n  - b\n  c: d\n',
  '- a\n-b\n',
  'a: [b]]\n',
  'a: "b"c\n',
  'key : v\n',
  'f: >\n  trailing  \n  space\n',
  'a: - b\n',
  'a: -\n',
];

describe('fast YAML reader', () => {
  it('reads the plain subset exactly as yaml does, values and positions', () => {
    for (const text of ACCEPTED) expect(expectSame(text), text).toBe('fast');
  });

  it('reads keys whose hashes collide, and more distinct keys than it remembers, as yaml does', () => {
    // "Aa" and "BB" have the same hash (h * 31 + c): each must still be its own key.
    for (const text of ['Aa: 1\nBB: 2\nc:\n  BB: 3\n  Aa: 4\n', 'BB: x\nd: {Aa: 5, BB: 6}\n', 'AaBB: 1\nBBAa: 2\n'])
      expect(expectSame(text), text).toBe('fast');
    let text = '';
    for (let i = 0; i < 6000; i++) text += `key${i}: ${i}\n`;
    expect(expectSame(text)).toBe('fast');
    expect(parseFastPath('BB: 1\nAa: 2\n')?.[0]?.value).toEqual({ BB: 1, Aa: 2 });
  });

  it('hands back a file nested deeper than MAX_NESTING, for the depth scan to report', () => {
    const blocks = (n: number): string => Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}k:\n`).join('');
    const flows = (n: number): string => `x: ${'['.repeat(n - 1)}${']'.repeat(n - 1)}\n`;
    // n `k:` lines, then the map holding v: n + 1 levels.
    expect(parseFastPath(`${blocks(MAX_NESTING - 1)}${'  '.repeat(MAX_NESTING - 1)}v: 1\n`)).toBeDefined();
    expect(parseFastPath(`${blocks(MAX_NESTING)}${'  '.repeat(MAX_NESTING)}v: 1\n`)).toBeUndefined();
    expect(parseFastPath(flows(MAX_NESTING))).toBeDefined();
    expect(parseFastPath(flows(MAX_NESTING + 1))).toBeUndefined();
  });

  it('hands back anything outside the subset', () => {
    for (const text of REFUSED) expect(parseFastPath(text), text).toBeUndefined();
  });

  it('agrees with yaml on a generated file of many documents', () => {
    let text = '';
    for (let i = 0; i < 50; i++) {
      text += `---\napiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: s-${i}\n`;
      text += `  labels: {team: "t${i % 3}"}\nspec:\n  version: "1.${i}.0"\n`;
      text += `  description: Skill number ${i} # trailing comment\n`;
      text += `  params:\n    - name: window\n      type: duration\n      default: ${i + 1}h\n`;
      text += `  steps:\n    - id: a${i}\n      run: |\n        grep -c "x" file || true\n        echo '${i}'\n`;
      text += `    - skill:\n        name: s-${i + 1}\n        params: {window: 2h, n: ${i}.5, ok: ${i % 2 === 0}}\n`;
    }
    expect(expectSame(text)).toBe('fast');
  });

  it("keeps each file's positions while thousands more are read after it", () => {
    // Position tables share slabs: a table that grows (flow style, more nodes than lines)
    // moves, a large one gets its own, and none may be touched by a later file.
    const texts: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const flow = `[${Array.from({ length: 1 + (i % 40) }, (_, k) => `v${i}-${k}`).join(', ')}]`;
      texts.push(`name: f-${i}\nlist: ${flow}\nmap:\n  k${i}: {a: 1, b: [x, y]}\n`);
    }
    texts.push(`big:\n${Array.from({ length: 20_000 }, (_, k) => `  - {n: ${k}}`).join('\n')}\n`);
    const docs = texts.map((t) => parseFastPath(t));
    texts.forEach((text, i) => {
      const fast = docs[i] as YamlDocument[];
      const slow = parseYamlFile(Buffer.from(text), { fastPath: false }).documents;
      const want = (p: (string | number)[]): unknown => slow[0]?.locate(p);
      for (const p of i === texts.length - 1
        ? [
            ['big', 0, 'n'],
            ['big', 19_999, 'n'],
          ]
        : paths(fast[0]?.value))
        expect(fast[0]?.locate(p), `file ${i} at ${p.join('/')}`).toEqual(want(p));
    });
  });

  it('agrees with yaml on thousands of seeded random documents it accepts', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = <T>(a: T[]): T => a[rnd(a.length)] as T;
    const scalars = [
      'a',
      'b c',
      '1',
      '-2',
      '1.5',
      'true',
      'null',
      '~',
      '"q"',
      "'s'",
      '"a: b"',
      'x#y',
      'x #c',
      'http://h:1/p',
      '0x1',
      '.5',
      '1e3',
      '',
      'yes',
      'a:b',
      '[1, 2]',
      '{k: v}',
      '[]',
      '{}',
      '"\\u00e9"',
      "'it''s'",
      '-x',
      '|',
      '>',
      '|-',
      ': x',
      '- y',
      '&a x',
      '*a',
      '!t x',
      '"open',
      '[a, b',
      'a, b',
      '@x',
      '`x`',
      '%x',
      '? x',
    ];
    const keys = ['a', 'b', 'name', 'x_y', 'k-1', 'a.b', '1', 'true', 'a b', '"q"', 'dup', 'dup'];
    const block = (indent: number, depth: number): string => {
      const pad = ' '.repeat(indent);
      let out = '';
      const isSeq = rnd(3) === 0;
      for (let i = 0, n = 1 + rnd(4); i < n; i++) {
        const head = isSeq ? `${pad}-` : `${pad}${pick(keys)}:`;
        const r = rnd(10);
        if (depth < 3 && r < 3)
          out += `${head + (rnd(4) === 0 ? ' # c' : '')}\n${block(indent + pick([2, 2, 4, 1]), depth + 1)}`;
        else if (r === 3)
          out +=
            `${head} ${pick(['|', '|-', '>', '>-', '|+'])}\n${pad}  line one\n` +
            `${pad}  ${pick(['line two', '  more', '', 'x  '])}\n` +
            (rnd(2) ? '\n' : '');
        else if (isSeq && r === 4 && depth < 3)
          out += `${pad}- ${pick(keys)}: ${pick(scalars)}\n${pad}  ${pick(keys)}: ${pick(scalars)}\n`;
        else out += `${head + (rnd(8) === 0 ? '' : ` ${pick(scalars)}`) + (rnd(6) === 0 ? ' # c' : '')}\n`;
        if (rnd(15) === 0) out += pick(['\n', '# comment\n', '---\n', `${pad}   stray\n`]);
      }
      return out;
    };
    let accepted = 0;
    for (let i = 0; i < 3000; i++) if (expectSame(block(0, 0)) === 'fast') accepted++;
    expect(accepted).toBeGreaterThan(1000); // the generator also makes many files outside the subset
  });

  it('agrees with yaml on every file of examples/repo', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (/\.ya?ml$/.test(e.name)) files.push(join(d, e.name));
      }
    };
    walk(join(root, 'examples/repo'));
    let fast = 0;
    for (const f of files) if (expectSame(readFileSync(f, 'utf8')) === 'fast') fast++;
    // The examples are ordinary configuration: all of them take the fast path.
    expect(fast).toBe(files.length);
  });
});
