#!/usr/bin/env node
// Entry point of the `caduceus` command. Each subcommand lives in reconciler/commands/
// and is imported only when used, so `caduceus validate` does not pay for Docker or HTTP.
// Exit codes: 0 ok, 1 findings or a diff, 2 usage or internal error.

import { errorMessage } from './errors.js';

type CommandModule = { main(argv: string[]): Promise<number> };

const COMMANDS: Record<string, { load: () => Promise<CommandModule>; summary: string }> = {
  validate: { load: () => import('./commands/validate.js'), summary: 'check a configuration directory (file:line:col errors)' },
  plan: { load: () => import('./commands/plan.js'), summary: 'show what applying a revision would change' },
  up: { load: () => import('./commands/up.js'), summary: 'run the reconciler in the foreground' },
  status: { load: () => import('./commands/status.js'), summary: 'applied revision and resource conditions' },
  events: { load: () => import('./commands/events.js'), summary: 'recent events' },
  init: { load: () => import('./commands/init.js'), summary: 'scaffold a new configuration repository' },
  run: { load: () => import('./commands/run.js'), summary: 'run a skill or a task now' },
  runs: { load: () => import('./commands/runs.js'), summary: 'run history' },
  curator: { load: () => import('./commands/curator.js'), summary: 'curator run | status | proposals | show' },
  proxy: { load: () => import('./commands/proxy.js'), summary: 'proxy test: send a request to the running proxy' },
  gateway: { load: () => import('./commands/gateway.js'), summary: 'gateway log | status' },
  sandbox: { load: () => import('./commands/sandbox.js'), summary: 'sandbox build: make the local Docker sandbox image' },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: caduceus <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'caduceus <command> --help' for a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write('caduceus 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`caduceus: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.main(rest);
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
