// The `caduceus` commands: the core ones (app/commands/) and, after them, every
// controller's (loaded only when asked for, so `caduceus validate` pays for nothing else).

import type { CommandSpec } from '../reconciler/types.js';

export const CORE: readonly CommandSpec[] = [
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
  {
    name: 'run',
    subcommands: ['skill', 'task'],
    load: () => import('./commands/run.js'),
    summary: 'run a skill or a task now',
  },
  { name: 'ask', load: () => import('./commands/ask.js'), summary: 'ask the agent: one run with live tool calls' },
  {
    name: 'runs',
    subcommands: ['show'],
    load: () => import('./commands/runs.js'),
    summary: 'run history; runs show ID for one run',
  },
  {
    name: 'create',
    subcommands: ['skill', 'task', 'gateway-role', 'proxy'],
    load: () => import('./commands/create.js'),
    summary: 'print (or --export into the tree) the YAML of a new skill, task, gateway role or proxy',
  },
  {
    name: 'skills',
    load: () => import('./commands/skills.js'),
    summary: 'skills with their use: runs, last run, failure rate',
  },
  { name: 'top', load: () => import('./commands/top.js'), summary: 'runs in flight with their CPU and memory' },
  { name: 'mcp', load: () => import('./commands/mcp.js'), summary: 'serve the skills as MCP tools over stdio' },
  {
    name: 'skill',
    subcommands: ['import', 'export'],
    load: () => import('./commands/skill.js'),
    summary: 'import or export an Agent Skills (SKILL.md) folder',
  },
  {
    name: 'completion',
    subcommands: ['bash', 'zsh', 'fish'],
    load: () => import('./commands/completion.js'),
    summary: 'shell completion script (bash, zsh or fish)',
  },
];

/** The core commands followed by every controller's, in module order. */
export async function allCommands(): Promise<CommandSpec[]> {
  const { CONTROLLER_COMMANDS } = await import('./controller-commands.js');
  return [...CORE, ...CONTROLLER_COMMANDS];
}
