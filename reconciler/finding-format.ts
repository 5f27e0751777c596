// How a finding is printed, in the two forms people see: a row of a report
// (`file:line:col  severity  message  (rule)`, what validate, plan, run, status and the
// curator print) and a sentence inside an error or a log line (`file:line:col: message (rule)`).

import { escapeControl } from './cli/escape.js';
import type { Finding } from './types.js';

/** `file:line:col`, the position editors and terminals turn into a link. */
export function formatPosition(p: { file: string; line: number; column: number }): string {
  return `${p.file}:${p.line}:${p.column}`;
}

/**
 * `file:line:col  severity  message  (rule)`: one row of a report, on exactly one line
 * (newlines and control characters in file names and messages are escaped).
 */
export function formatFinding(f: Finding): string {
  return escapeControl(`${formatPosition(f)}  ${f.severity}  ${f.message}  (${f.rule})`);
}

/** `file:line:col: message (rule)`: a finding inside a sentence. */
export function describeFinding(f: Finding): string {
  return `${formatPosition(f)}: ${f.message} (${f.rule})`;
}
