// A linear pre-scan of YAML text for nesting depth, run before the yaml library (the fast
// reader counts its own depth and hands a deeper file back unread): the parsers and every
// later stage (schema, hashing, JSON) recurse per level, and a file nested a few thousand
// levels deep would overflow the stack (or take seconds in the one parser that does not).
// Deeper than MAX_NESTING is a finding at the place it gets too deep.
// The count errs on the side of more depth (a `[` inside a plain scalar counts), never less.

import type { LineCol } from './yaml-documents.js';

/** Far beyond any configuration (a skill's deepest field is about 8 levels down). */
export const MAX_NESTING = 64;

/** Where the text first nests deeper than `max` levels, or undefined. */
export function tooDeep(text: string, max = MAX_NESTING): LineCol | undefined {
  if (depthBound(text) <= max) return undefined;
  const blocks: number[] = []; // columns of the open block collections
  let flow = 0;
  let quote: '"' | "'" | undefined;
  let scalarIndent = -1; // inside a block scalar: content lines are indented deeper than this
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln] as string;
    const indent = line.length - line.trimStart().length;
    const blank = line.trim() === '' || line.trimStart().startsWith('#');
    if (scalarIndent >= 0) {
      if (blank || indent > scalarIndent) continue;
      scalarIndent = -1;
    }
    if (quote === undefined && flow === 0) {
      if (blank) continue;
      if (/^(---|\.\.\.)(\s|$)/.test(line)) {
        blocks.length = 0;
        continue;
      }
      // Block structure: pop what this line closes, open what it starts.
      while (blocks.length > 0 && (blocks[blocks.length - 1] as number) > indent) blocks.pop();
      if (blocks[blocks.length - 1] !== indent) blocks.push(indent);
      let col = indent;
      while (/^-(\s|$)/.test(line.slice(col))) {
        col += 1 + (line.slice(col + 1).length - line.slice(col + 1).trimStart().length);
        if (col < line.length) blocks.push(col);
        if (blocks.length > max) return { line: ln + 1, column: col + 1 };
      }
      if (blocks.length > max) return { line: ln + 1, column: col + 1 };
    }
    for (let i = quote === undefined && flow === 0 ? indent : 0; i < line.length; i++) {
      const c = line[i];
      if (quote === '"') {
        if (c === '\\') i++;
        else if (c === '"') quote = undefined;
        continue;
      }
      if (quote === "'") {
        if (c === "'" && line[i + 1] === "'") i++;
        else if (c === "'") quote = undefined;
        continue;
      }
      if (c === '#' && (i === 0 || /\s/.test(line[i - 1] as string))) break;
      if (c === '"' || c === "'") {
        // A quote opens a scalar only where a node starts (`key: "`, `- '`, `[ "`), not
        // inside a plain scalar (`echo it's`): else a stray quote would hide what follows.
        if (startsNode(line, i, indent)) quote = c;
      } else if (c === '[' || c === '{') {
        flow++;
        if (blocks.length + flow > max) return { line: ln + 1, column: i + 1 };
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow--;
      }
    }
    // `key: |`, `- >-`, `key: |2 # comment`: the lines indented deeper than the key are the
    // scalar's text (for a key after `- `, deeper than the key, not than the dash).
    if (quote === undefined && flow === 0 && /(^|[\s:-])[|>][-+0-9]*\s*(#.*)?$/.test(line))
      scalarIndent = nodeColumn(line, indent);
  }
  return undefined;
}

/**
 * An upper bound of the depth the scan below can reach, from one pass over the text
 * without allocating: the open block collections have strictly increasing columns, each
 * at most a line's leading run of blanks and `-` indicators, so there are at most
 * (longest such run + 1) of them; flow collections add at most one level per `[` or `{`
 * anywhere in the text. Almost every file is far below the limit by this count, and the
 * exact scan (which splits the text into lines) then never runs. Characters that might
 * be white space to trimStart (control and non-ASCII ones) count into the run as well.
 */
function depthBound(text: string): number {
  let longestRun = 0;
  let opens = 0;
  let run = 0;
  let leading = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      run = 0;
      leading = true;
      continue;
    }
    if (c === 91 || c === 123) opens++;
    if (leading) {
      if (c === 32 || c === 45 || c < 32 || c > 126) {
        run++;
        if (run > longestRun) longestRun = run;
      } else leading = false;
    }
  }
  return longestRun + 1 + opens;
}

/** The column of the last node a block line starts: past its `- ` indicators. */
function nodeColumn(line: string, indent: number): number {
  let col = indent;
  while (/^-(\s|$)/.test(line.slice(col)))
    col += 1 + (line.slice(col + 1).length - line.slice(col + 1).trimStart().length);
  return col;
}

function startsNode(line: string, i: number, indent: number): boolean {
  let j = i - 1;
  while (j >= indent && (line[j] === ' ' || line[j] === '\t')) j--;
  if (j < indent) return true;
  const prev = line[j] as string;
  if (prev === '[' || prev === '{' || prev === ',') return true;
  // `key: "` and `- "`, where the indicator is followed by white space.
  return (prev === ':' || prev === '-' || prev === '?') && j < i - 1;
}
