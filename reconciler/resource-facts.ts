// Third stage of loading, still per document: the facts cross-reference checks need
// (names, aliases, skill calls with the positions of their parameters, references to
// skills and tasks), taken while the YAML positions are at hand, plus the checks that
// only need the one document. The result is cached with the file, so the whole-set
// checks in cross-refs.ts never touch YAML again.

import { hash } from 'node:crypto';
import type {
  CuratorSpec,
  GatewayPolicySpec,
  IsolationSpec,
  Platform,
  ProxySpec,
  RuntimeSpec,
  SkillParam,
  SkillSpec,
  TaskSpec,
} from './specs.js';
import type { Kind, Metadata } from './types.js';
import type { CheckedDocument } from './schema-check.js';
import { timeZoneProblem } from './schedule-check.js';
import { AGENT_MODEL } from './agent-contract.js';
import { envSuffix } from './env-names.js';
import { paramValueProblem } from './skill-params.js';
import type { FileFinding, LineCol, YamlDocument } from './yaml-documents.js';

export interface CallSite {
  /** `step 2` or `subtask "audit"`, for messages. */
  what: string;
  target: string;
  targetPos: LineCol;
  params: Array<{ name: string; value: unknown; pos: LineCol }>;
  /** Where a missing parameter is reported: the params mapping, or the call itself. */
  paramsPos: LineCol;
}

export interface NameRef {
  kind: 'Skill' | 'Task';
  name: string;
  pos: LineCol;
  /** `role "admin" permissions.tasks`, for messages. */
  what: string;
}

/** Everything later stages need from one document; positions are inside its file. */
export interface DocFacts {
  kind: Kind;
  name: string;
  start: LineCol;
  namePos: LineCol;
  /** The document passed its schema. */
  valid: boolean;
  /**
   * The document's content when it passed its schema, unless the parse was asked not to
   * keep it (keepResources: false, `caduceus validate`); the loader adds the hash
   * (loader.ts toResource).
   */
  resource?: { apiVersion: string; kind: Kind; metadata: Metadata; spec: unknown };
  aliases: Array<{ name: string; pos: LineCol }>;
  params: SkillParam[];
  calls: CallSite[];
  refs: NameRef[];
  concurrency?: { value: number; pos: LineCol };
  runtimeMaximum?: number;
  /** Cron expressions to check with node-cron (the loader does, asynchronously). */
  crons: Array<{ expr: string; pos: LineCol }>;
  /** What only one resource may hold: a gateway platform, a proxy's port. */
  claims: Claim[];
  /**
   * Places that need the agent and so the Runtime's llm upstream (prompt subtasks). Stage 2
   * adds its own here: a Proxy enabling `caduceus/agent`, agent permissions of a
   * GatewayPolicy role; cross-refs.ts then reports each one without an upstream.
   */
  agentUses: Array<{ what: string; pos: LineCol }>;
  /** Entries of agent tool allow-lists, checked against the skills and builtin tools. */
  agentTools: Array<{ name: string; pos: LineCol; what: string }>;
  /** The Runtime's upstream for agent runs: absent, without a model, or usable. */
  runtimeLlm?: 'none' | 'noModel' | 'ok';
  /** A Task's `delivery`: checked against the GatewayPolicies' platforms and channels. */
  delivery?: { platform: Platform; channel: string; platformPos: LineCol; channelPos: LineCol };
  /** The platforms a GatewayPolicy configures, with what a delivery needs to know. */
  gatewayPlatforms: Array<{ platform: Platform; channels: string[]; cannotPost?: string }>;
}

export type Claim =
  | { kind: 'platform'; platform: string; pos: LineCol }
  | { kind: 'port'; port: number; bind: string; pos: LineCol };

export function docFacts(
  doc: YamlDocument,
  checked: CheckedDocument,
  findings: FileFinding[],
  keepResource = true,
): DocFacts | undefined {
  const { kind, value } = checked;
  const name = value.metadata?.name;
  if (typeof name !== 'string') return undefined;
  const facts: DocFacts = {
    kind,
    name,
    start: doc.start,
    namePos: doc.locate(['metadata', 'name']),
    valid: checked.valid,
    aliases: [],
    params: [],
    calls: [],
    refs: [],
    crons: [],
    claims: [],
    agentUses: [],
    agentTools: [],
    gatewayPlatforms: [],
  };
  if (kind === 'Skill' && Array.isArray((value.spec as SkillSpec | undefined)?.aliases)) {
    (value.spec as SkillSpec).aliases.forEach((a, i) => {
      if (typeof a === 'string') facts.aliases.push({ name: a, pos: doc.locate(['spec', 'aliases', i]) });
    });
  }
  const { apiVersion, metadata, spec } = value;
  // A skill of instructions only (a SKILL.md folder) runs no steps: an empty list, so every reader can iterate.
  if (kind === 'Skill' && spec !== null && typeof spec === 'object') (spec as Partial<SkillSpec>).steps ??= [];
  if (checked.valid && keepResource) facts.resource = { apiVersion, kind, metadata, spec };
  // A document with schema errors still contributes its references when their shape allows,
  // so its unknown skills or bad call parameters show up in the same run; its per-document
  // findings are dropped (they would repeat the schema errors).
  const local: FileFinding[] = [];
  const err = (path: (string | number)[], rule: string, message: string): void => {
    local.push({ ...doc.locate(path), severity: 'error', rule, message });
  };
  const warn = (path: (string | number)[], rule: string, message: string): void => {
    local.push({ ...doc.locate(path), severity: 'warning', rule, message });
  };
  try {
    kindFacts(doc, kind, spec, facts, err, warn);
  } catch (e) {
    if (checked.valid) throw e;
    facts.calls = [];
    facts.refs = [];
    facts.crons = [];
    facts.claims = [];
    facts.agentUses = [];
    facts.agentTools = [];
    facts.gatewayPlatforms = [];
    delete facts.concurrency;
    delete facts.delivery;
    return settled(facts, keepResource);
  }
  if (checked.valid) findings.push(...local);
  else {
    facts.crons = [];
    facts.claims = [];
    facts.calls = facts.calls.filter((c) => typeof c.target === 'string');
    facts.refs = facts.refs.filter((r) => typeof r.name === 'string');
    facts.agentTools = facts.agentTools.filter((t) => typeof t.name === 'string');
    // Whether a broken subtask needs the agent is for after its schema errors are fixed.
    facts.agentUses = [];
    if (typeof facts.concurrency?.value !== 'number') delete facts.concurrency;
    if (typeof facts.delivery?.platform !== 'string' || typeof facts.delivery.channel !== 'string')
      delete facts.delivery;
    // A broken policy serves nothing yet: deliveries to it are judged once it loads.
    facts.gatewayPlatforms = [];
    delete facts.runtimeMaximum;
    delete facts.runtimeLlm;
  }
  return settled(facts, keepResource);
}

/** The one empty list every settled DocFacts shares (frozen: a late push fails loudly). */
const NONE = Object.freeze([]) as unknown as never[];

/**
 * Facts outlive their file (the loader keeps them for the next revision), so what they
 * hold is what every load of 10,000 files copies through the young generation: each empty
 * list becomes the shared NONE, and when the content is not kept, the parameters keep
 * only what calls are checked against. A description is dropped there because a string
 * the YAML reader sliced from a line holds on to the whole file's text.
 */
function settled(facts: DocFacts, keepResource: boolean): DocFacts {
  if (facts.aliases.length === 0) facts.aliases = NONE;
  if (facts.calls.length === 0) facts.calls = NONE;
  if (facts.refs.length === 0) facts.refs = NONE;
  if (facts.crons.length === 0) facts.crons = NONE;
  if (facts.claims.length === 0) facts.claims = NONE;
  if (facts.agentUses.length === 0) facts.agentUses = NONE;
  if (facts.agentTools.length === 0) facts.agentTools = NONE;
  if (facts.gatewayPlatforms.length === 0) facts.gatewayPlatforms = NONE;
  if (facts.params.length === 0) facts.params = NONE;
  else if (!keepResource)
    // The content goes with its file, so its parameters are the facts' own to trim.
    for (const p of facts.params) if (p.description !== undefined) p.description = undefined;
  return facts;
}

function kindFacts(doc: YamlDocument, kind: Kind, spec: unknown, facts: DocFacts, err: Err, warn: Err): void {
  switch (kind) {
    case 'Skill':
      skillFacts(doc, spec as SkillSpec, facts, err);
      break;
    case 'Task':
      taskFacts(doc, spec as TaskSpec, facts, err);
      break;
    case 'GatewayPolicy':
      gatewayFacts(doc, spec as GatewayPolicySpec, facts);
      (spec as GatewayPolicySpec).roles.forEach((role, r) => {
        role.permissions.tasks.forEach((t, i) => {
          facts.refs.push({
            kind: 'Task',
            name: t,
            pos: doc.locate(['spec', 'roles', r, 'permissions', 'tasks', i]),
            what: `role "${role.name}" permissions.tasks`,
          });
        });
        role.permissions.skills.forEach((s, i) => {
          facts.refs.push({
            kind: 'Skill',
            name: s,
            pos: doc.locate(['spec', 'roles', r, 'permissions', 'skills', i]),
            what: `role "${role.name}" permissions.skills`,
          });
        });
      });
      uniqueNames((spec as GatewayPolicySpec).roles, ['spec', 'roles'], 'role', err);
      for (const platform of Object.keys((spec as GatewayPolicySpec).platforms ?? {}))
        facts.claims.push({ kind: 'platform', platform, pos: doc.locate(['spec', 'platforms', platform], 'key') });
      break;
    case 'Proxy': {
      const p = spec as ProxySpec;
      if (p.port > 0)
        facts.claims.push({ kind: 'port', port: p.port, bind: p.bind, pos: doc.locate(['spec', 'port']) });
      p.preload.forEach((s, i) => {
        facts.refs.push({ kind: 'Skill', name: s, pos: doc.locate(['spec', 'preload', i]), what: 'preload' });
      });
      if (p.agent?.enabled)
        facts.agentUses.push({
          what: `the Proxy serves the ${AGENT_MODEL} model`,
          pos: doc.locate(['spec', 'agent', 'enabled']),
        });
      allowList(doc, p.agent?.tools, ['spec', 'agent', 'tools'], 'agent.tools', facts);
      if (!isLoopback(p.bind) && !p.tls && !p.allowPublicBind) {
        err(
          ['spec', 'bind'],
          'public-bind',
          `bind ${p.bind} is not a loopback address and the proxy has no tls; ` +
            'add tls (cert and key) or set allowPublicBind: true',
        );
      }
      break;
    }
    case 'Curator': {
      const sch = (spec as CuratorSpec).schedule;
      schedule(doc, sch?.cron, sch?.timezone, facts, err);
      break;
    }
    case 'Runtime': {
      isolationLimits((spec as RuntimeSpec).isolation, ['spec', 'isolation'], err);
      const rt = spec as Pick<RuntimeSpec, 'concurrency' | 'llm' | 'agent'>;
      const c = rt.concurrency;
      facts.runtimeMaximum = c.maximum;
      facts.runtimeLlm = rt.llm === undefined ? 'none' : rt.llm.model === undefined ? 'noModel' : 'ok';
      allowList(doc, rt.agent?.tools, ['spec', 'agent', 'tools'], 'agent.tools', facts);
      memoryInContext(rt.agent, (message) => warn(['spec', 'agent', 'memoryFile'], 'memory-not-in-context', message));
      if (c.default > c.maximum)
        err(
          ['spec', 'concurrency', 'default'],
          'concurrency-limit',
          `concurrency.default ${c.default} is above concurrency.maximum ${c.maximum}`,
        );
      break;
    }
  }
}

type Err = (path: (string | number)[], rule: string, message: string) => void;

function skillFacts(doc: YamlDocument, spec: SkillSpec, facts: DocFacts, err: Err): void {
  facts.params = spec.params;
  allowList(doc, spec.agent?.tools, ['spec', 'agent', 'tools'], 'agent.tools', facts);
  uniqueNames(spec.params, ['spec', 'params'], 'parameter', err);
  // foo-bar, foo_bar and FOO_BAR all arrive as PARAM_FOO_BAR: one would hide the others.
  // Lists this short are searched, not hashed: a Map per skill showed over 10,000 skills.
  const params = spec.params;
  if (params.length > 1) {
    const envs = params.map((p) => envSuffix(p.name));
    for (let i = 1; i < params.length; i++) {
      const first = envs.indexOf(envs[i] as string);
      const p = params[i] as SkillParam;
      if (first < i && params[first]?.name !== p.name)
        err(
          ['spec', 'params', i, 'name'],
          'param-env-collision',
          `parameter "${p.name}" reaches shell steps as PARAM_${envs[i]}, ` +
            `like parameter "${params[first]?.name}"; rename one of them`,
        );
    }
  }
  isolationLimits(spec.isolation, ['spec', 'isolation'], err);
  spec.params.forEach((p, i) => {
    if (p.values && p.type !== 'enum')
      err(
        ['spec', 'params', i, 'values'],
        'param-type',
        `parameter "${p.name}" has values but its type is ${p.type}; set type: enum`,
      );
    if (p.default !== undefined) {
      const problem = paramValueProblem(p, p.default);
      if (problem) err(['spec', 'params', i, 'default'], 'param-type', `default of parameter "${p.name}" ${problem}`);
    }
  });
  if (spec.steps.length === 0 && spec.instructions === undefined)
    err(['spec'], 'schema', 'spec: a skill needs steps, instructions (for the agent), or both');
  const ids: Array<string | undefined> = [];
  spec.steps.forEach((step, i) => {
    if (step.id !== undefined) {
      const key = envSuffix(step.id);
      const first = ids.indexOf(key);
      if (first >= 0)
        err(
          ['spec', 'steps', i, 'id'],
          'duplicate-step-id',
          `step id "${step.id}" is already used by step ${first + 1}`,
        );
      ids[i] = key;
    }
    if (step.skill)
      facts.calls.push(
        callSite(
          doc,
          ['spec', 'steps', i],
          ['skill', 'name'],
          ['skill', 'params'],
          step.skill.name,
          step.skill.params,
          `step ${i + 1}`,
        ),
      );
  });
}

function taskFacts(doc: YamlDocument, spec: TaskSpec, facts: DocFacts, err: Err): void {
  uniqueNames(spec.subtasks, ['spec', 'subtasks'], 'subtask', err);
  isolationLimits(spec.isolation, ['spec', 'isolation'], err);
  spec.subtasks.forEach((s, i) => {
    if (s.skill !== undefined)
      facts.calls.push(
        callSite(doc, ['spec', 'subtasks', i], ['skill'], ['params'], s.skill, s.params, `subtask "${s.name}"`),
      );
    if (s.prompt !== undefined)
      facts.agentUses.push({
        what: `subtask "${s.name}" is a prompt for the agent`,
        pos: doc.locate(['spec', 'subtasks', i, 'prompt']),
      });
    allowList(doc, s.agent?.tools, ['spec', 'subtasks', i, 'agent', 'tools'], `subtask "${s.name}" agent.tools`, facts);
  });
  if (spec.concurrency !== undefined)
    facts.concurrency = { value: spec.concurrency, pos: doc.locate(['spec', 'concurrency']) };
  if (spec.schedule) schedule(doc, spec.schedule.cron, spec.schedule.timezone, facts, err);
  if (spec.delivery)
    facts.delivery = {
      platform: spec.delivery.platform,
      channel: spec.delivery.channel,
      platformPos: doc.locate(['spec', 'delivery', 'platform']),
      channelPos: doc.locate(['spec', 'delivery', 'channel']),
    };
}

function gatewayFacts(doc: YamlDocument, spec: GatewayPolicySpec, facts: DocFacts): void {
  for (const [platform, ps] of Object.entries(spec.platforms) as Array<[Platform, PlatformSpecs]>) {
    if (!ps) continue;
    facts.gatewayPlatforms.push({
      platform,
      channels: ps.channels.map(String),
      cannotPost: cannotPost(platform, ps),
    });
  }
  spec.roles.forEach((role, r) => {
    const agent = role.permissions.agent;
    const at = ['spec', 'roles', r, 'permissions', 'agent'];
    if (agent?.enabled)
      facts.agentUses.push({ what: `role "${role.name}" may ask the agent`, pos: doc.locate([...at, 'enabled']) });
    allowList(doc, agent?.tools, [...at, 'tools'], `role "${role.name}" permissions.agent.tools`, facts);
  });
}

type PlatformSpecs = GatewayPolicySpec['platforms'][Platform];

/** Why a platform cannot post to a channel of its own accord (a delivery), or undefined when it can. */
function cannotPost(platform: Platform, ps: NonNullable<PlatformSpecs>): string | undefined {
  switch (platform) {
    case 'slack':
    case 'discord':
      return 'botToken' in ps && ps.botToken ? undefined : `platforms.${platform} has no botToken to post with`;
    case 'webhook':
      return 'callbackURL' in ps && ps.callbackURL ? undefined : 'platforms.webhook has no callbackURL to post to';
    case 'telegram':
      return undefined;
  }
}

/** The memory file should be context of later runs, or merged memory is never read. */
function memoryInContext(agent: RuntimeSpec['agent'] | undefined, warn: (message: string) => void): void {
  const file = agent?.memoryFile;
  if (!file) return;
  const patterns = agent?.context ?? [];
  const glob = (p: string): RegExp =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')}$`,
    );
  if (!patterns.some((p) => glob(p).test(file)))
    warn(`memoryFile ${file} is not matched by agent.context, so merged memory never reaches a run; add it there`);
}

/** The time zone now; the cron expression is queued for the loader's node-cron check. */
function schedule(doc: YamlDocument, cron: unknown, tz: unknown, facts: DocFacts, err: Err): void {
  const problem = typeof tz === 'string' ? timeZoneProblem(tz) : undefined;
  if (problem) err(['spec', 'schedule', 'timezone'], 'schedule', problem);
  if (typeof cron === 'string') facts.crons.push({ expr: cron, pos: doc.locate(['spec', 'schedule', 'cron']) });
}

function allowList(
  doc: YamlDocument,
  tools: readonly string[] | undefined,
  path: (string | number)[],
  what: string,
  facts: DocFacts,
): void {
  tools?.forEach((name, i) => {
    facts.agentTools.push({ name, pos: doc.locate([...path, i]), what });
  });
}

function callSite(
  doc: YamlDocument,
  base: (string | number)[],
  targetPath: string[],
  paramsPath: string[],
  target: string,
  params: Record<string, unknown> | undefined,
  what: string,
): CallSite {
  const targetPos = doc.locate([...base, ...targetPath]);
  return {
    what,
    target,
    targetPos,
    params: Object.entries(params ?? {}).map(([name, value]) => ({
      name,
      value,
      pos: doc.locate([...base, ...paramsPath, name], 'key'),
    })),
    paramsPos: params ? doc.locate([...base, ...paramsPath]) : targetPos,
  };
}

function uniqueNames(items: Array<{ name: string }>, path: (string | number)[], what: string, err: Err): void {
  for (let i = 1; i < items.length; i++) {
    const name = (items[i] as { name: string }).name;
    for (let first = 0; first < i; first++) {
      if ((items[first] as { name: string }).name !== name) continue;
      err(
        [...path, i, 'name'],
        `duplicate-${what === 'parameter' ? 'param' : what}`,
        `${what} "${name}" is declared twice (first as item ${first + 1})`,
      );
      break;
    }
  }
}

/** Docker refuses a memory limit under 6 MiB when it creates the container, long after validation. */
const MIN_MEMORY = 6 * 1024 * 1024;
const MEMORY_UNIT: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

function isolationLimits(iso: IsolationSpec | undefined, path: (string | number)[], err: Err): void {
  const m = typeof iso?.memory === 'string' ? /^([0-9]+)(Ki|Mi|Gi)?$/.exec(iso.memory) : null;
  if (m && Number(m[1]) * (MEMORY_UNIT[m[2] ?? ''] ?? 1) < MIN_MEMORY)
    err(
      [...path, 'memory'],
      'isolation-limit',
      `memory ${iso?.memory} is below Docker's minimum of 6Mi; write at least 6Mi (or unlimited)`,
    );
}

export function isLoopback(bind: string): boolean {
  const host = bind.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** sha256 hex of the canonical (sorted-key) JSON of the value. */
export function resourceHash(value: unknown): string {
  return hash('sha256', canonicalJson(value));
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = `[${canonicalJson(value[0])}`;
    for (let i = 1; i < value.length; i++) out += `,${canonicalJson(value[i])}`;
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  sortSmall(keys);
  let out = '{';
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${quotedKey(k)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

/**
 * Sorts in place, as Array.prototype.sort would for strings: insertion sort for the few
 * keys of an object, which V8's sort would first copy into a work array (a tenth of all
 * allocation when loading 10,000 resources).
 */
function sortSmall(keys: string[]): void {
  if (keys.length > 16) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
}

// The same few keys (name, type, steps, …) are quoted again and again: 10,000 resources
// hash twice as fast with their JSON spelling kept. Bounded, since keys come from users.
const QUOTED_KEYS_MAX = 2000;
const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < QUOTED_KEYS_MAX) quotedKeys.set(k, q);
  }
  return q;
}
