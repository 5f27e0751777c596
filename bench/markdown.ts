// Markdown pieces of the benchmark reports in bench/RESULTS.md: a table row from its cells,
// so a row with long cells can be written one cell per line.

/** `| a | b |`; an empty cell is written `| |`. */
export function row(...cells: string[]): string {
  return `|${cells.map((c) => (c === '' ? ' ' : ` ${c} `)).join('|')}|`;
}
