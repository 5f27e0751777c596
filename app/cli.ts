#!/usr/bin/env node
// Entry point of the `caduceus` command. The core commands live in app/commands/; each
// controller contributes its own (curator, proxy, gateway, sandbox) through its module in
// controllers/*/cli-commands.ts. A command's code is imported only when it runs, and no
// controller is loaded to find a command, so `caduceus validate` does not pay for Docker
// or HTTP.
// Exit codes: 0 ok, 1 findings or a diff, 2 usage or internal error.

import { errorMessage } from '../reconciler/errors.js';
import type { CommandSpec } from '../reconciler/types.js';

const CORE: readonly CommandSpec[] = [
  {
    name: 'validate',
    load: () => import('./commands/validate.js'),
    summary: 'check a configuration directory (file:line:col errors)',
  },
  { name: 'plan', load: () => import('./commands/plan.js'), summary: 'show what applying a revision would change' },
  { name: 'up', load: () => import('./commands/up.js'), summary: 'run the reconciler in the foreground' },
  { name: 'status', load: () => import('./commands/status.js'), summary: 'applied revision and resource conditions' },
  { name: 'events', load: () => import('./commands/events.js'), summary: 'recent events' },
  { name: 'init', load: () => import('./commands/init.js'), summary: 'scaffold a new configuration repository' },
  { name: 'run', load: () => import('./commands/run.js'), summary: 'run a skill or a task now' },
  { name: 'ask', load: () => import('./commands/ask.js'), summary: 'ask the agent: one run with live tool calls' },
  { name: 'runs', load: () => import('./commands/runs.js'), summary: 'run history; runs show ID for one run' },
  { name: 'mcp', load: () => import('./commands/mcp.js'), summary: 'serve the skills as MCP tools over stdio' },
  {
    name: 'skill',
    load: () => import('./commands/skill.js'),
    summary: 'import or export an Agent Skills (SKILL.md) folder',
  },
];

/** The core commands followed by every controller's, in module order. */
async function allCommands(): Promise<CommandSpec[]> {
  const { CONTROLLER_COMMANDS } = await import('./controller-commands.js');
  return [...CORE, ...CONTROLLER_COMMANDS];
}

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
    process.stdout.write('caduceus 0.1.0\n');
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`caduceus: ${errorMessage(err)}\n`);
    process.exitCode = 2;
  },
);
