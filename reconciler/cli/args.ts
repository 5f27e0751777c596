// Argument parsing shared by the subcommands: node's util.parseArgs, with usage errors
// turned into exit code 2 and a --help flag on every command.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OUTPUT_FORMATS, setOutputFormat, type OutputFormat } from './output.js';

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<O extends Options> {
  values: {
    [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { multiple: true } ? string[] : string;
  };
  positionals: string[];
}

/**
 * Parses argv for one command. Returns undefined after printing help (exit 0); throws
 * UsageError for unknown flags or bad values, which runCommand maps to exit 2.
 */
export function parse<O extends Options>(argv: string[], options: O, help: string): Parsed<O> | undefined {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return undefined;
  }
  // Every command with --json also takes -o/--output json|yaml|text (kubectl's spelling).
  const structured = 'json' in options;
  const all = structured ? { ...options, output: { type: 'string' as const, short: 'o' } } : options;
  let r: Parsed<O>;
  try {
    r = parseArgs({ args: argv, options: all, allowPositionals: true, strict: true }) as unknown as Parsed<O>;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${help}`);
  }
  if (structured) {
    const values = r.values as Record<string, unknown>;
    const o = values.output as string | undefined;
    delete values.output;
    if (o !== undefined && !(OUTPUT_FORMATS as readonly string[]).includes(o))
      throw new UsageError(`-o/--output takes json, yaml or text, got "${o}"\n\n${help}`);
    const format: OutputFormat = (o as OutputFormat | undefined) ?? (values.json === true ? 'json' : 'text');
    setOutputFormat(format);
    values.json = format !== 'text';
  }
  return r;
}

/** Wraps a command body: UsageError → 2 with the message on stderr. */
export async function runCommand(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`caduceus: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
