// Last stage of loading: checks that need the whole revision (duplicates, references
// between resources, skill call cycles, parameters of calls, the single Runtime and its
// concurrency ceiling). It works on cached DocFacts only, in time linear in their size,
// so it runs on every load without re-reading any YAML.

import type { CallSite, Claim, DocFacts } from './resource-facts.js';
import type { SkillParam } from './specs.js';
import { unknownToolProblem } from './agent-contract.js';
import { formatPosition } from './finding-format.js';
import { paramValueProblem } from './skill-params.js';
import type { Finding } from './types.js';
import type { LineCol } from './yaml-documents.js';

export interface PlacedFacts {
  file: string;
  facts: DocFacts;
}

/** Default ceiling when the revision declares no Runtime (the Runtime schema's default). */
const DEFAULT_MAXIMUM = 6;

/**
 * Returns the findings and the set of documents that lost a duplicate check (they are not
 * resources of the revision). `docs` must be in file order, documents in file order.
 */
export function crossReferenceFindings(docs: readonly PlacedFacts[]): {
  findings: Finding[];
  rejected: Set<PlacedFacts>;
} {
  const findings: Finding[] = [];
  const rejected = new Set<PlacedFacts>();
  const at = (file: string, pos: LineCol, rule: string, message: string): void => {
    findings.push({ file, line: pos.line, column: pos.column, severity: 'error', rule, message });
  };
  const where = (d: PlacedFacts, pos: LineCol): string => formatPosition({ file: d.file, ...pos });

  // Names: duplicates of kind/name, and skill names reachable through aliases. Skills are
  // told apart by name in `skills` (which holds no alias yet), the other kinds by kind/name
  // in `byKey`: one map insert per document, not two, on the 10,000-skill revisions.
  const byKey = new Map<string, PlacedFacts>();
  const skills = new Map<string, PlacedFacts>(); // name or alias → skill
  const withAliases: PlacedFacts[] = [];
  const tasks = new Set<string>();
  const runtimes: PlacedFacts[] = [];
  for (const d of docs) {
    const isSkill = d.facts.kind === 'Skill';
    const first = isSkill ? skills.get(d.facts.name) : byKey.get(keyOf(d.facts));
    if (first) {
      at(
        d.file,
        d.facts.namePos,
        'duplicate-resource',
        `${keyOf(d.facts)} is already defined at ${where(first, first.facts.namePos)}; rename one of them`,
      );
      rejected.add(d);
      continue;
    }
    if (isSkill) {
      skills.set(d.facts.name, d);
      if (d.facts.aliases.length > 0) withAliases.push(d);
      continue;
    }
    byKey.set(keyOf(d.facts), d);
    if (d.facts.kind === 'Task') tasks.add(d.facts.name);
    else if (d.facts.kind === 'Runtime') runtimes.push(d);
  }
  // Aliases after every canonical name is known: a name wins over an alias spelled the same.
  for (const d of withAliases) {
    for (const a of d.facts.aliases) {
      const other = skills.get(a.name);
      if (other && other !== d) {
        const pos =
          other.facts.name === a.name
            ? other.facts.namePos
            : (other.facts.aliases.find((x) => x.name === a.name)?.pos ?? other.facts.namePos);
        at(
          d.file,
          a.pos,
          'duplicate-alias',
          `alias "${a.name}" of skill ${d.facts.name} is already a name or alias ` +
            `of skill ${other.facts.name} at ${where(other, pos)}`,
        );
      } else {
        skills.set(a.name, d);
      }
    }
  }

  // The single Runtime and its ceiling.
  for (const r of runtimes.slice(1)) {
    const first = runtimes[0] as PlacedFacts;
    at(
      r.file,
      r.facts.namePos,
      'multiple-runtimes',
      `a configuration has at most one Runtime; Runtime/${first.facts.name} is at ${where(first, first.facts.namePos)}`,
    );
  }
  const maximum = runtimes[0]?.facts.runtimeMaximum ?? DEFAULT_MAXIMUM;

  // References and calls. A call's findings depend only on the call and the facts of the
  // skill it reaches, and both come back unchanged load after load: they are kept per call
  // and used again while the call still reaches the same facts from the same file.
  const checkCall = (d: PlacedFacts, call: CallSite): void => {
    const callee = skills.get(call.target);
    const seen = callChecks.get(call);
    if (seen && seen.callee === callee?.facts && seen.file === d.file) {
      for (const f of seen.findings) findings.push(f);
      return;
    }
    const start = findings.length;
    checkCallAgainst(d, call, callee);
    callChecks.set(call, { callee: callee?.facts, file: d.file, findings: findings.slice(start) });
  };
  const checkCallAgainst = (d: PlacedFacts, call: CallSite, callee: PlacedFacts | undefined): void => {
    if (!callee) {
      at(d.file, call.targetPos, 'unknown-skill', `${call.what} calls skill "${call.target}", which is not defined`);
      return;
    }
    if (!callee.facts.valid) return; // its own schema errors are already reported
    const declared = paramsOf(callee.facts);
    const passed = new Set<string>();
    for (const p of call.params) {
      passed.add(p.name);
      const decl = declared.get(p.name);
      if (!decl) {
        const known = [...declared.keys()];
        at(
          d.file,
          p.pos,
          'unknown-param',
          `${call.what}: skill ${callee.facts.name} has no parameter "${p.name}"` +
            (known.length ? ` (it takes ${known.join(', ')})` : ' (it takes none)'),
        );
        continue;
      }
      const problem = paramValueProblem(decl, p.value);
      if (problem)
        at(d.file, p.pos, 'param-type', `${call.what}: parameter "${p.name}" of skill ${callee.facts.name} ${problem}`);
    }
    for (const decl of callee.facts.params) {
      if (decl.required && decl.default === undefined && !passed.has(decl.name)) {
        at(
          d.file,
          call.paramsPos,
          'missing-param',
          `${call.what}: skill ${callee.facts.name} needs parameter "${decl.name}"`,
        );
      }
    }
  };
  for (const d of docs) {
    if (rejected.has(d)) continue;
    for (const call of d.facts.calls) checkCall(d, call);
    for (const ref of d.facts.refs) {
      const ok = ref.kind === 'Skill' ? skills.has(ref.name) : tasks.has(ref.name);
      if (!ok)
        at(
          d.file,
          ref.pos,
          ref.kind === 'Skill' ? 'unknown-skill' : 'unknown-task',
          `${ref.what} names ${ref.kind.toLowerCase()} "${ref.name}", which is not defined`,
        );
    }
    const c = d.facts.concurrency;
    if (c && c.value > maximum) {
      at(
        d.file,
        c.pos,
        'concurrency-limit',
        `concurrency ${c.value} is above the Runtime's maximum of ${maximum}; ` +
          'lower it or raise spec.concurrency.maximum of the Runtime',
      );
    }
  }

  agentFindings(docs, rejected, runtimes[0], skills, at);
  deliveryFindings(docs, rejected, at);
  findCycles(docs, rejected, skills, at);
  claimConflicts(docs, rejected, at);
  return { findings, rejected };
}

// Facts are cached with their file and come back load after load: what is derived from
// one document alone is derived once.
const keys = new WeakMap<DocFacts, string>();
const params = new WeakMap<DocFacts, ReadonlyMap<string, SkillParam>>();
/** The findings of a call the last time it was checked, and against which callee's facts. */
const callChecks = new WeakMap<CallSite, { callee: DocFacts | undefined; file: string; findings: Finding[] }>();

/** `Kind/name`. */
function keyOf(facts: DocFacts): string {
  let k = keys.get(facts);
  if (k === undefined) {
    k = `${facts.kind}/${facts.name}`;
    keys.set(facts, k);
  }
  return k;
}

/** A skill's parameters by name. */
function paramsOf(facts: DocFacts): ReadonlyMap<string, SkillParam> {
  let m = params.get(facts);
  if (m === undefined) {
    m = new Map(facts.params.map((p) => [p.name, p]));
    params.set(facts, m);
  }
  return m;
}

/**
 * Two resources holding what only one can (a gateway platform's endpoint, a proxy port)
 * would leave one of them Ready=False at apply time. The controllers let the first by
 * name win, so the later one by name is the one reported.
 */
function claimConflicts(
  docs: readonly PlacedFacts[],
  rejected: Set<PlacedFacts>,
  at: (file: string, pos: LineCol, rule: string, message: string) => void,
): void {
  const byName = docs
    .filter((d) => !rejected.has(d) && d.facts.claims.length > 0)
    .sort((a, b) => (a.facts.name < b.facts.name ? -1 : a.facts.name > b.facts.name ? 1 : 0));
  const held: Array<{ d: PlacedFacts; claim: Claim }> = [];
  for (const d of byName) {
    for (const claim of d.facts.claims) {
      const rival = held.find((h) => h.d.facts.kind === d.facts.kind && clash(h.claim, claim));
      if (!rival) {
        held.push({ d, claim });
        continue;
      }
      const where = `${rival.d.file}:${rival.claim.pos.line}:${rival.claim.pos.column}`;
      if (claim.kind === 'platform')
        at(
          d.file,
          claim.pos,
          'platform-conflict',
          `platform ${claim.platform} is already served by GatewayPolicy/${rival.d.facts.name} at ${where}; ` +
            'one policy per platform',
        );
      else
        at(
          d.file,
          claim.pos,
          'port-conflict',
          `port ${claim.port} is already taken by Proxy/${rival.d.facts.name} at ${where}; ` +
            'give each proxy its own port',
        );
    }
  }
}

/**
 * What the agent needs: an llm upstream with a model in the Runtime for every place that
 * starts agent runs (fail closed at validation, not at 3 a.m.), and allow-lists that name
 * real tools. A Runtime with schema errors says nothing about its llm: no finding then.
 */
function agentFindings(
  docs: readonly PlacedFacts[],
  rejected: Set<PlacedFacts>,
  runtime: PlacedFacts | undefined,
  skills: Map<string, PlacedFacts>,
  at: (file: string, pos: LineCol, rule: string, message: string) => void,
): void {
  const llm = runtime ? runtime.facts.runtimeLlm : 'none';
  const servers = new Set(docs.filter((d) => d.facts.kind === 'ToolServer').map((d) => d.facts.name));
  for (const d of docs) {
    if (rejected.has(d)) continue;
    if (llm !== undefined && llm !== 'ok') {
      for (const use of d.facts.agentUses) {
        const where = runtime ? `Runtime/${runtime.facts.name} (${runtime.file})` : 'a Runtime';
        const missing = runtime
          ? `Runtime/${runtime.facts.name} has no spec.llm upstream`
          : 'the configuration has no Runtime with an llm upstream';
        at(
          d.file,
          use.pos,
          'llm-required',
          llm === 'none'
            ? `${use.what}, but ${missing}; add spec.llm (baseURL, model, apiKey) to ${where}`
            : `${use.what}, but the spec.llm of Runtime/${runtime?.facts.name} names no model; add spec.llm.model`,
        );
      }
    }
    for (const t of d.facts.agentTools) {
      const problem = unknownToolProblem(
        t.name,
        (n) => skills.has(n),
        (n) => servers.has(n),
      );
      if (problem) at(d.file, t.pos, 'unknown-agent-tool', `${t.what}: ${problem}`);
    }
  }
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

function clash(a: Claim, b: Claim): boolean {
  if (a.kind === 'platform' && b.kind === 'platform') return a.platform === b.platform;
  if (a.kind === 'port' && b.kind === 'port')
    return a.port === b.port && (a.bind === b.bind || WILDCARD.has(a.bind) || WILDCARD.has(b.bind));
  return false;
}

/**
 * A Task's delivery needs a platform some GatewayPolicy serves (the first by name, as the
 * gateway decides), the channel on its list, and a way to post without a message to
 * answer (a bot token, a callback URL).
 */
function deliveryFindings(
  docs: readonly PlacedFacts[],
  rejected: Set<PlacedFacts>,
  at: (file: string, pos: LineCol, rule: string, message: string) => void,
): void {
  const serving = new Map<string, { d: PlacedFacts; p: DocFacts['gatewayPlatforms'][number] }>();
  const policies = docs
    .filter((d) => d.facts.kind === 'GatewayPolicy' && !rejected.has(d))
    .sort((a, b) => (a.facts.name < b.facts.name ? -1 : a.facts.name > b.facts.name ? 1 : 0));
  for (const d of policies)
    for (const p of d.facts.gatewayPlatforms) if (!serving.has(p.platform)) serving.set(p.platform, { d, p });
  for (const d of docs) {
    const del = d.facts.delivery;
    if (!del || rejected.has(d)) continue;
    const found = serving.get(del.platform);
    if (!found) {
      at(
        d.file,
        del.platformPos,
        'delivery-target',
        `delivery names platform ${del.platform}, which no GatewayPolicy configures; ` +
          `add platforms.${del.platform} to one`,
      );
      continue;
    }
    const policy = `GatewayPolicy/${found.d.facts.name} (${found.d.file})`;
    if (!found.p.channels.includes(del.channel)) {
      at(
        d.file,
        del.channelPos,
        'delivery-target',
        `delivery channel "${del.channel}" is not on the ${del.platform} channel list of ${policy}; add it there`,
      );
    }
    if (found.p.cannotPost)
      at(d.file, del.platformPos, 'delivery-target', `delivery to ${del.platform}: ${found.p.cannotPost} in ${policy}`);
  }
}

/** Iterative depth-first search; each cycle is reported once, at the call that closes it. */
function findCycles(
  docs: readonly PlacedFacts[],
  rejected: Set<PlacedFacts>,
  skills: Map<string, PlacedFacts>,
  at: (file: string, pos: LineCol, rule: string, message: string) => void,
): void {
  const state = new Map<PlacedFacts, 1 | 2>(); // 1 on the stack, 2 done
  for (const root of docs) {
    // A skill that calls nothing closes no cycle: it needs no search of its own.
    if (root.facts.kind !== 'Skill' || root.facts.calls.length === 0 || rejected.has(root) || state.has(root)) continue;
    const stack: Array<{ d: PlacedFacts; next: number }> = [{ d: root, next: 0 }];
    state.set(root, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { d: PlacedFacts; next: number };
      const call = top.d.facts.calls[top.next++];
      if (!call) {
        state.set(top.d, 2);
        stack.pop();
        continue;
      }
      const callee = skills.get(call.target);
      if (!callee) continue;
      const s = state.get(callee);
      if (s === 1) {
        const from = stack.findIndex((f) => f.d === callee);
        const names = [...stack.slice(from).map((f) => f.d.facts.name), callee.facts.name];
        at(top.d.file, call.targetPos, 'skill-cycle', `skill call cycle: ${names.join(' → ')}`);
      } else if (s === undefined) {
        state.set(callee, 1);
        stack.push({ d: callee, next: 0 });
      }
    }
  }
}
