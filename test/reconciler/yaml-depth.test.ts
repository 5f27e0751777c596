import { describe, expect, it } from 'vitest';
import { tooDeep } from '../../reconciler/yaml-depth.js';

// Shapes whose depth equals the quick bound tooDeep starts with (one column of indent per
// level, flow opened at column 0): at the limit they pass, one level more is found, so
// the bound can neither hide a file that is too deep nor flag one that is not.
describe('tooDeep at the limit', () => {
  const blockMappings = (levels: number): string =>
    Array.from({ length: levels }, (_, i) => `${' '.repeat(i)}k:\n`).join('');
  const flow = (levels: number): string => `x: ${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}\n`;

  it.each([2, 3, 8, 64])('block mappings one column apart, limit %i', (max) => {
    expect(tooDeep(blockMappings(max), max)).toBeUndefined();
    expect(tooDeep(blockMappings(max + 1), max)).toEqual({ line: max + 1, column: max + 1 });
  });

  it.each([2, 3, 8, 64])('flow sequences on a top-level key, limit %i', (max) => {
    expect(tooDeep(flow(max), max)).toBeUndefined();
    expect(tooDeep(flow(max + 1), max)).toEqual({ line: 1, column: 3 + max });
  });

  it('counts tabs and other leading white space towards the bound', () => {
    const text = Array.from({ length: 5 }, (_, i) => `${'\t'.repeat(i)}k:\n`).join('');
    // A tab is not YAML indentation, but the scan treats it like a column; so must the bound.
    expect(tooDeep(text, 4)).toEqual({ line: 5, column: 5 });
  });
});
