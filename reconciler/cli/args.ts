// Argument parsing shared by the subcommands: node's util.parseArgs, with usage errors
// turned into exit code 2 and a --help flag on every command.

import { parseArgs, type ParseArgsConfig } from 'node:util';

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
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return r as unknown as Parsed<O>;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${help}`);
  }
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
