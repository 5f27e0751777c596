// The `caduceus` command, started by cli.ts (from the build's bundle, or as compiled). The
// core commands live in app/commands/; each controller contributes its own (curator, proxy,
// gateway, sandbox) through its module in controllers/*/cli-commands.ts. A command's code is
// imported only when it runs, and no controller is loaded to find a command, so `caduceus
// validate` does not pay for Docker or HTTP.
// Exit codes: 0 ok, 1 findings or a diff, 2 usage or internal error.

import { errorMessage } from '../reconciler/errors.js';
import type { CommandSpec } from '../reconciler/types.js';
import { allCommands, CORE } from './command-list.js';
import { packageVersion } from './package-version.js';

function usage(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return (
    `usage: caduceus <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    `Run 'caduceus <command> --help' for a command's options.\n`
  );
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage(await allCommands()));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`caduceus ${packageVersion()}\n`);
    return 0;
  }
  const cmd = CORE.find((c) => c.name === name) ?? (await allCommands()).find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`caduceus: unknown command "${name}"\n\n${usage(await allCommands())}`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.main(rest);
}

// A reader that went away (`caduceus events | head -1`) ends the command quietly, with the
// code it had so far, instead of an unhandled EPIPE and its stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    process.exit(err.code === 'EPIPE' ? (typeof process.exitCode === 'number' ? process.exitCode : 0) : 2);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`caduceus: ${errorMessage(err)}\n`);
    process.exitCode = 2;
  },
);
