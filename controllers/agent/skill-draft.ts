// A successful agent run turned into the steps of a skill: each successful tool call
// becomes a step of its kind (a skill tool a `skill` step, shell a `run` step, the file
// tools `file` steps or a listing, http_get an `http` step), and literal values the
// request spelled out (a path, a host, a number, a quoted phrase) become params whose
// defaults are those values, so the skill repeats the run and can be pointed elsewhere.

import type { AgentToolCall } from '../../reconciler/agent-contract.js';
import type { ParamType, SkillParam, SkillStep } from '../../reconciler/specs.js';
import type { Resource } from '../../reconciler/types.js';
import { API_VERSION } from '../../reconciler/types.js';
import { envSuffix as envName } from '../../reconciler/env-names.js';
import { yamlLib } from '../../reconciler/yaml-lib.js';
import { renderSkillMd } from '../../reconciler/skill-md.js';

/** Tools that leave nothing to repeat: their calls are not steps. */
const NOT_STEPS = new Set(['remember', 'delegate']);

export interface DraftParam {
  /** Placeholder id in the steps until the param is named. */
  id: number;
  value: string;
  type: Extract<ParamType, 'string' | 'number'>;
  /** The name suggested by where the value was used (a skill's param name, `path`, `url`, …), unique in the draft. */
  suggested: string;
  /** Where it was used, for the naming request: `step 2 (run)`. */
  where: string[];
}

export interface SkillDraft {
  steps: SkillStep[];
  params: DraftParam[];
  /** Successful calls per tool, the evidence of the proposal. */
  toolCounts: Record<string, number>;
}

/** The successful tool calls that become steps. */
export function stepCalls(calls: readonly AgentToolCall[]): AgentToolCall[] {
  return calls.filter((c) => c.status === 'succeeded' && !NOT_STEPS.has(c.tool));
}

/**
 * The draft of a skill from a run's tool calls; undefined when none of them is a step.
 * `prompt` is what the user asked (their messages), where literal values are looked up.
 */
export function draftSkill(
  calls: readonly AgentToolCall[],
  prompt: string,
  skills: ReadonlyMap<string, Resource<'Skill'>>,
): SkillDraft | undefined {
  const literals = promptLiterals(prompt);
  const params = new ParamTable();
  const steps: SkillStep[] = [];
  const toolCounts: Record<string, number> = {};
  for (const call of stepCalls(calls)) {
    let args: Record<string, unknown>;
    try {
      args = (call.arguments.trim() ? JSON.parse(call.arguments) : {}) as Record<string, unknown>;
    } catch {
      continue; // a succeeded call had parseable arguments; a redacted one may not
    }
    const where = `step ${steps.length + 1} (${call.tool})`;
    const step = toStep(call.tool, args, literals, params, where, skills);
    if (!step) continue;
    steps.push(step);
    toolCounts[call.tool] = (toolCounts[call.tool] ?? 0) + 1;
  }
  if (steps.length === 0) return undefined;
  return { steps, params: params.list(), toolCounts };
}

function toStep(
  tool: string,
  args: Record<string, unknown>,
  literals: Literals,
  params: ParamTable,
  where: string,
  skills: ReadonlyMap<string, Resource<'Skill'>>,
): SkillStep | undefined {
  const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
  switch (tool) {
    case 'shell':
      return { run: substituteShell(str(args.command), literals, params, where) };
    case 'read_file':
      return { file: { action: 'read', path: substituteText(str(args.path), literals, params, where, 'path') } };
    case 'write_file':
      return {
        file: {
          action: args.append === true ? 'append' : 'write',
          path: substituteText(str(args.path), literals, params, where, 'path'),
          content: substituteText(str(args.content), literals, params, where, 'value'),
        },
      };
    case 'list_files': {
      const path = str(args.path) || '.';
      const quoted = shellQuote(path);
      return {
        run:
          args.recursive === true
            ? `cd -- ${quoted} && find . -mindepth 1 | sed 's|^\\./||' | sort`
            : `ls -1Ap -- ${quoted}`,
      };
    }
    case 'http_get': {
      const headers = args.headers as Record<string, string> | undefined;
      const url = substituteText(str(args.url), literals, params, where, 'host', URL_SAFE);
      // Spread: the draft is rendered into the skill's YAML, where an empty map would be written out.
      return { http: { method: 'GET', url, ...(headers && Object.keys(headers).length ? { headers } : {}) } };
    }
    default: {
      const skill = skills.get(tool);
      if (!skill) return undefined;
      const declared = new Map(skill.spec.params.map((p) => [p.name, p.type]));
      const out: Record<string, string | number | boolean> = {};
      for (const [k, v] of Object.entries(args)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
        // Only string params can take a `${{ params.x }}` reference: the others are checked by type.
        if (typeof v === 'string' && declared.get(k) === 'string' && literals.any.has(v))
          out[k] = `\${{ params.${params.placeholder(v, k, where)} }}`;
        else out[k] = v;
      }
      // Spread: as above, no `params: {}` in the rendered skill.
      return { skill: { name: tool, ...(Object.keys(out).length ? { params: out } : {}) } };
    }
  }
}

// ---- literal values of the request ----

interface Literals {
  /** Values distinctive enough to be replaced inside commands, paths and URLs. */
  distinctive: string[];
  /** Every word or quoted phrase, matched only against whole argument values. */
  any: Set<string>;
}

const TRIM_START = /^[("'`[{<]+/;
const TRIM_END = /[)"'`\]}>,;:!?]+$|\.+$/;

export function promptLiterals(prompt: string): Literals {
  const any = new Set<string>();
  const distinctive = new Set<string>();
  const quoted = /"([^"\n]{1,200})"|`([^`\n]{1,200})`|(?:^|[\s(])'([^'\n]{1,200})'(?=$|[\s).,;:!?])/g;
  for (const m of prompt.matchAll(quoted)) {
    const v = (m[1] ?? m[2] ?? m[3] ?? '').trim();
    if (v.length >= 2) {
      any.add(v);
      distinctive.add(v);
    }
  }
  for (const raw of prompt.split(/\s+/)) {
    let w = raw;
    // Peel punctuation until it stops changing: `(/srv/data).` → `/srv/data`.
    for (let prev = ''; prev !== w; ) {
      prev = w;
      w = w.replace(TRIM_START, '').replace(TRIM_END, '');
    }
    if (w === '') continue;
    const numeric = /^-?\d+(\.\d+)?$/.test(w);
    if (w.length >= 2 || numeric) any.add(w);
    if (numeric || (w.length >= 3 && /[0-9/._:@=-]/.test(w.slice(1)))) distinctive.add(w);
  }
  // Longest first, so `/srv/data/logs` is replaced before `/srv/data`.
  return { distinctive: [...distinctive].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)), any };
}

const URL_SAFE = /^[A-Za-z0-9._~-]+$/;

class ParamTable {
  private readonly byValue = new Map<string, DraftParam>();

  /** The placeholder of the param for `value`, made on first use. */
  placeholder(value: string, hint: string, where: string): string {
    let p = this.byValue.get(value);
    if (!p) {
      const type = /^-?\d+(\.\d+)?$/.test(value) ? 'number' : 'string';
      p = { id: this.byValue.size, value, type, suggested: hint, where: [] };
      this.byValue.set(value, p);
    }
    if (!p.where.includes(where)) p.where.push(where);
    return `\u0000${p.id}\u0000`;
  }

  /** The params with unique suggested names (`path`, `path-2`; never the same PARAM_ variable twice). */
  list(): DraftParam[] {
    const used = new Set<string>();
    return [...this.byValue.values()].map((p) => {
      const base = /^[A-Za-z][A-Za-z0-9_-]*$/.test(p.suggested) ? p.suggested : 'value';
      let name = base;
      for (let n = 2; used.has(envName(name)); n++) name = `${base}-${n}`;
      used.add(envName(name));
      return { ...p, suggested: name };
    });
  }
}

function hintFor(value: string, fallback: string): string {
  if (/^https?:\/\//.test(value)) return 'url';
  if (/^-?\d+(\.\d+)?$/.test(value)) return 'count';
  if (value.includes('/')) return 'path';
  return fallback;
}

/** Occurrences of `lit` in `text` at word boundaries (a path may go on with `/`). */
function boundaries(text: string, lit: string, at: number): boolean {
  const before = at === 0 ? '' : (text[at - 1] as string);
  const after = text[at + lit.length] ?? '';
  const word = /[A-Za-z0-9_.-]/;
  // `/srv/data` is not replaced inside `/x/srv/data`; a host is, after `https://`.
  return !word.test(before) && !(before === '/' && lit.startsWith('/')) && !word.test(after) && after !== '\\';
}

/** File paths, contents and URLs: literal values become `${{ params.x }}` (the engine interpolates these fields). */
function substituteText(
  text: string,
  literals: Literals,
  params: ParamTable,
  where: string,
  fallbackHint: string,
  allowed?: RegExp,
): string {
  let out = text;
  for (const lit of literals.distinctive) {
    if (allowed && !allowed.test(lit)) continue;
    let i = out.indexOf(lit);
    while (i >= 0) {
      if (boundaries(out, lit, i)) {
        const ref = `\${{ params.${params.placeholder(lit, hintFor(lit, fallbackHint), where)} }}`;
        out = out.slice(0, i) + ref + out.slice(i + lit.length);
        i = out.indexOf(lit, i + ref.length);
      } else i = out.indexOf(lit, i + 1);
    }
  }
  return out;
}

/**
 * A shell command with literal values replaced by their PARAM_ variables, quoted for where
 * they stand: `"${P}"` outside quotes, `${P}` inside double quotes, `'"${P}"'` inside
 * single quotes. Only whole shell words (or a path's leading part) are replaced, so `1` in
 * `2>&1` stays.
 */
function substituteShell(command: string, literals: Literals, params: ParamTable, where: string): string {
  let out = command;
  for (const lit of literals.distinctive) {
    let result = '';
    let quote: '' | "'" | '"' = '';
    let i = 0;
    while (i < out.length) {
      const ch = out[i] as string;
      if (quote !== "'" && ch === '\\') {
        result += out.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (out.startsWith(lit, i) && shellWordAt(out, lit, i, quote)) {
        const env = `\${PARAM_\u0000${params.placeholder(lit, hintFor(lit, 'value'), where).slice(1, -1)}\u0001}`;
        result += quote === '"' ? env : quote === "'" ? `'"${env}"'` : `"${env}"`;
        i += lit.length;
        continue;
      }
      if (quote === '' && (ch === '"' || ch === "'")) quote = ch;
      else if (quote !== '' && ch === quote) quote = '';
      result += ch;
      i++;
    }
    out = result;
  }
  return out;
}

function shellWordAt(text: string, lit: string, at: number, quote: string): boolean {
  const before = at === 0 ? '' : (text[at - 1] as string);
  const after = text[at + lit.length] ?? '';
  const okBefore = before === '' || /\s|=|\(/.test(before) || (quote !== '' && before === quote);
  const okAfter =
    after === '' ||
    /[\s;|&)]/.test(after) ||
    (quote !== '' && after === quote) ||
    (after === '/' && !lit.endsWith('/'));
  return okBefore && okAfter;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`;
}

// ---- the Skill document ----

export interface SkillNaming {
  name: string;
  description: string;
  /** Param name per DraftParam id. */
  paramNames: ReadonlyMap<number, string>;
}

/** The draft's params and steps once named: placeholders become the params' names. */
function namedSkill(draft: SkillDraft, naming: SkillNaming): { params: SkillParam[]; steps: SkillStep[] } {
  const nameOf = (id: number): string => naming.paramNames.get(id) ?? `value-${id + 1}`;
  const fill = (text: string): string =>
    text
      // Shell: ${PARAM_<NUL>id<SOH>} → ${PARAM_NAME}
      // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and SOH mark placeholders, no argument has them
      .replace(/\u0000(\d+)\u0001/g, (_m, id: string) => envName(nameOf(Number(id))))
      // Templates: ${{ params.<NUL>id<NUL> }} → ${{ params.name }}
      // biome-ignore lint/suspicious/noControlCharactersInRegex: as above
      .replace(/\u0000(\d+)\u0000/g, (_m, id: string) => nameOf(Number(id)));
  const steps = JSON.parse(JSON.stringify(draft.steps), (_k, v: unknown) =>
    typeof v === 'string' ? fill(v) : v,
  ) as SkillStep[];
  const params = draft.params.map((p) => ({
    name: nameOf(p.id),
    type: p.type,
    required: false,
    default: p.type === 'number' ? Number(p.value) : p.value,
  }));
  return { params, steps };
}

/** The Skill YAML of a draft once named. */
export function renderSkill(draft: SkillDraft, naming: SkillNaming): string {
  const { params, steps } = namedSkill(draft, naming);
  const spec: Record<string, unknown> = { version: '0.1.0', description: naming.description };
  if (params.length > 0) spec.params = params.map(({ required: _, ...p }) => p);
  spec.steps = steps;
  const doc = new (yamlLib().Document)({
    apiVersion: API_VERSION,
    kind: 'Skill',
    metadata: { name: naming.name },
    spec,
  });
  return doc.toString({ lineWidth: 0 });
}

/**
 * The SKILL.md of a draft once named (an Agent Skills folder's one file): `instructions`
 * first, then the request's values as parameters and the run's steps as the example of
 * how an agent did it, under `stepsNote`.
 */
export function renderSkillMdDraft(
  draft: SkillDraft,
  naming: SkillNaming,
  instructions: string,
  stepsNote: string,
): string {
  const { params, steps } = namedSkill(draft, naming);
  return renderSkillMd({
    name: naming.name,
    description: naming.description,
    version: '0.1.0',
    instructions,
    params,
    steps,
    stepsHeading: 'How an agent did it once',
    stepsNote,
  });
}
