// How commands print: structured output as JSON or YAML (`--json`, `-o json|yaml`, the
// kubectl convention), and colour only where a person reads it — never with NO_COLOR set,
// on TERM=dumb or when stdout is not a terminal, unless FORCE_COLOR asks for it.

import { stringify } from 'yaml';

export type OutputFormat = 'text' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'json', 'yaml'];

let format: OutputFormat = 'text';

/** Set by the argument parser from `--json` or `-o/--output`. */
export function setOutputFormat(f: OutputFormat): void {
  format = f;
}

export function outputFormat(): OutputFormat {
  return format;
}

/** Writes a value as the chosen structured format (JSON unless -o yaml). */
export function writeStructured(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(format === 'yaml' ? stringify(value, { lineWidth: 0 }) : `${JSON.stringify(value, null, 2)}\n`);
}

/** Whether to colour text written to `stream`: https://no-color.org and FORCE_COLOR, then the terminal. */
export function useColor(
  stream: { isTTY?: boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
  explicit?: boolean,
): boolean {
  if (explicit !== undefined) return explicit;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}
