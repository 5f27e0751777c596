// The closed vocabulary and its documentation: the README's troubleshooting tables are
// rendered here from reconciler/reasons.ts and reconciler/error-codes.ts and must match
// (`npm run docs:vocabulary` rewrites them), and every entry is used by the code.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONDITION_TYPES, REASONS, type ReasonInfo } from '../../reconciler/reasons.js';
import { ERROR_CODES } from '../../reconciler/error-codes.js';

const ROOT = join(import.meta.dirname, '..', '..');
const README = join(ROOT, 'README.md');
const WRITE = process.env.CADUCEUS_WRITE_DOCS === '1';

const cell = (text: string): string => text.replace(/\|/g, '\\|');

function reasonTables(): string {
  const entries = Object.entries(REASONS as Record<string, ReasonInfo>);
  const problems = entries.filter(([, r]) => r.action !== undefined);
  const others = entries.filter(([, r]) => r.action === undefined);
  return [
    '| condition | means |',
    '|---|---|',
    ...Object.entries(CONDITION_TYPES).map(([t, m]) => `| \`${t}\` | ${cell(m)} |`),
    '',
    '| reason | means | what to do |',
    '|---|---|---|',
    ...problems.map(([name, r]) => {
      const stalls = r.terminal ? '**Stalled until the spec changes**: ' : '';
      return `| \`${name}\` | ${cell(r.meaning)} | ${stalls}${cell(r.action ?? '')} |`;
    }),
    '',
    'Reasons that report progress, for the record:',
    '',
    '| reason | means |',
    '|---|---|',
    ...others.map(([name, r]) => `| \`${name}\` | ${cell(r.meaning)} |`),
  ].join('\n');
}

function errorCodeTable(): string {
  return [
    '| code | means | what to do |',
    '|---|---|---|',
    ...Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${cell(e.meaning)} | ${cell(e.action)} |`),
  ].join('\n');
}

/** The README text between `<!-- vocabulary:NAME -->` and `<!-- /vocabulary:NAME -->`. */
function checkSection(name: string, source: string, body: string): void {
  const text = readFileSync(README, 'utf8');
  const open = `<!-- vocabulary:${name}: generated from ${source} by \`npm run docs:vocabulary\` -->\n`;
  const close = `\n<!-- /vocabulary:${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close, start);
  if (WRITE && start >= 0 && end > start) {
    writeFileSync(README, text.slice(0, start + open.length) + body + text.slice(end));
    return;
  }
  expect(start, `README.md has no "${open.trim()}" line`).toBeGreaterThanOrEqual(0);
  expect(end, `README.md has no "${close.trim()}" line after it`).toBeGreaterThan(start);
  expect(
    text.slice(start + open.length, end),
    'README differs from the vocabulary: run `npm run docs:vocabulary`',
  ).toBe(body);
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = posix.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

const VOCABULARY_FILES = new Set(['reconciler/reasons.ts', 'reconciler/error-codes.ts']);
const code = ['app', 'reconciler', 'controllers']
  .flatMap(sources)
  .filter((f) => !VOCABULARY_FILES.has(f))
  .map((f) => ({ file: f, text: readFileSync(join(ROOT, f), 'utf8') }));

describe('the closed vocabulary', () => {
  it('README troubleshooting tables are the reasons of reconciler/reasons.ts', () => {
    checkSection('reasons', 'reconciler/reasons.ts', reasonTables());
  });

  it('README error table is the codes of reconciler/error-codes.ts', () => {
    checkSection('error-codes', 'reconciler/error-codes.ts', errorCodeTable());
  });

  it('has no entry the code never uses', () => {
    const used = (name: string): boolean => code.some((f) => f.text.includes(`'${name}'`));
    expect(Object.keys(REASONS).filter((r) => !used(r))).toEqual([]);
    expect(Object.keys(ERROR_CODES).filter((c) => !used(c))).toEqual([]);
  });

  it('is never widened by a cast, so the compiler checks every reason and code', () => {
    const casts = code.filter((f) => /\bas (Reason|TerminalReason|ErrorCode)\b/.test(f.text)).map((f) => f.file);
    expect(casts).toEqual([]);
  });

  it('gives every problem and every terminal reason something to do, each on one line', () => {
    for (const [name, r] of Object.entries(REASONS as Record<string, ReasonInfo>)) {
      if (r.terminal) expect(r.action, name).toMatch(/\S/);
      expect(`${r.meaning}${r.action ?? ''}`, name).not.toMatch(/\n/);
    }
    for (const [name, e] of Object.entries(ERROR_CODES)) expect(`${e.meaning}${e.action}`, name).not.toMatch(/\n/);
  });
});
