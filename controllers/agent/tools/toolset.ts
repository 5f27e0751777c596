// The tools of one run: its allow-list (skill names, builtin tools, groups) resolved
// against the applied skills, each tool's Chat Completions definition, and the check of
// a builtin tool's arguments against its schema (skills check theirs in runSkill).

import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { ChatCompletionTool } from 'openai/resources/chat/completions/completions';
import type { ServerTool, Snapshot } from '../../../reconciler/types.js';
import { resourcesOfKind } from '../../../reconciler/types.js';
import {
  AGENT_BUILTIN_TOOLS,
  SERVER_TOOL_SEPARATOR,
  notAToolProblem,
  toolGroup,
  type AgentBuiltinTool,
} from '../../../reconciler/agent-contract.js';
import { CaduceusError } from '../../../reconciler/errors.js';
import { findSkill } from '../../../reconciler/skill-names.js';
import type { AgentTool } from './types.js';
import { readFileTool, writeFileTool, listFilesTool } from './files.js';
import { shellTool } from './shell.js';
import { httpGetTool } from './http.js';
import { rememberTool } from './remember.js';
import { delegateTool } from './delegate.js';
import { skillTool } from './skills.js';
import { allowsServerTool, serverTool, serverToolName } from './server-tools.js';

const BUILTIN: Record<AgentBuiltinTool, AgentTool> = {
  shell: shellTool,
  read_file: readFileTool,
  write_file: writeFileTool,
  list_files: listFilesTool,
  http_get: httpGetTool,
  delegate: delegateTool,
  remember: rememberTool,
};

export interface Toolset {
  /** Resolved tool names, in the order offered: builtins first, then skills by name. */
  names: readonly string[];
  byName: ReadonlyMap<string, AgentTool>;
  definitions: readonly ChatCompletionTool[];
}

/**
 * Resolves an allow-list; throws UnknownAgentTool for a name that is no tool (validation
 * catches these in the repository; this is for `caduceus ask --tools` and children).
 * `delegate` is dropped at depth 1 and below.
 */
export function resolveToolset(
  snap: Snapshot,
  allowList: readonly string[],
  depth: number,
  servers: readonly ServerTool[] = [],
): Toolset {
  const builtins = new Set<AgentBuiltinTool>();
  const skills = new Set<string>();
  const fromServers: ServerTool[] = [];
  for (const entry of allowList) {
    const group = toolGroup(entry);
    if ((AGENT_BUILTIN_TOOLS as readonly string[]).includes(entry)) builtins.add(entry as AgentBuiltinTool);
    // As validation reads it: a server name before the separator (`__proto__` names no server).
    else if (entry.indexOf(SERVER_TOOL_SEPARATOR) > 0) {
      // A server that is not connected (failed to start) offers nothing: the run goes on without it.
      for (const t of servers) if (allowsServerTool(entry, t) && !fromServers.includes(t)) fromServers.push(t);
    } else if (entry === 'skills') for (const s of resourcesOfKind(snap, 'Skill')) skills.add(s.metadata.name);
    else if (group) for (const t of group) builtins.add(t);
    else {
      const skill = findSkill(snap, entry);
      if (!skill) throw new CaduceusError('UnknownAgentTool', notAToolProblem(entry), { field: 'tools' });
      skills.add(skill.metadata.name);
    }
  }
  if (depth > 0) builtins.delete('delegate');
  const byName = new Map<string, AgentTool>();
  for (const t of AGENT_BUILTIN_TOOLS) if (builtins.has(t)) byName.set(t, BUILTIN[t]);
  for (const name of [...skills].sort()) {
    // A skill named like a builtin tool cannot be told apart by the model: the builtin wins.
    if (byName.has(name) || (AGENT_BUILTIN_TOOLS as readonly string[]).includes(name)) continue;
    const skill = findSkill(snap, name);
    if (skill) byName.set(name, skillTool(skill));
  }
  for (const t of fromServers) byName.set(serverToolName(t), serverTool(t));
  const definitions: ChatCompletionTool[] = [...byName.values()].map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.parameters },
  }));
  return { names: [...byName.keys()], byName, definitions };
}

let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

/** Why arguments do not fit a builtin tool's schema, or undefined when they do. */
export function builtinArgumentProblem(tool: AgentTool, args: Record<string, unknown>): string | undefined {
  if (!(AGENT_BUILTIN_TOOLS as readonly string[]).includes(tool.name)) return undefined;
  // Every problem, not only the first; the builtin schemas are strict-clean (a test compiles each).
  ajv ??= new Ajv2020({ allErrors: true });
  let validate = validators.get(tool.name);
  if (!validate) {
    validate = ajv.compile(tool.parameters);
    validators.set(tool.name, validate);
  }
  return validate(args) ? undefined : ajv.errorsText(validate.errors, { dataVar: 'arguments', separator: '; ' });
}
