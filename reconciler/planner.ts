// The planner: diffs a revision's desired resources against the applied snapshot, per
// resource (create / update / delete / unchanged) with a field-level diff for updates,
// and renders it like `terraform plan`. Comparing hashes first keeps a 10,000-resource
// plan cheap; only changed resources are loaded and diffed field by field.

import type { Resource, ResourceKey } from './types.js';
import { APPLY_ORDER, keyOf } from './types.js';

export type Action = 'create' | 'update' | 'delete' | 'unchanged';

export interface FieldChange {
  /** Dotted path with [i] for list items, e.g. `spec.steps[0].run`. */
  path: string;
  op: 'add' | 'remove' | 'change';
  before?: unknown;
  after?: unknown;
}

export interface PlanEntry {
  key: ResourceKey;
  kind: string;
  name: string;
  action: Action;
  /** Where the desired document starts, for create and update. */
  file?: string;
  changes?: FieldChange[];
}

export interface Plan {
  entries: PlanEntry[];
  summary: Record<Action, number>;
}

const kindRank = (kind: string): number => {
  const i = APPLY_ORDER.indexOf(kind as (typeof APPLY_ORDER)[number]);
  return i < 0 ? APPLY_ORDER.length : i;
};

export function plan(
  desired: readonly Resource[],
  appliedHashes: ReadonlyMap<ResourceKey, string>,
  loadApplied: (key: ResourceKey) => Resource | undefined,
): Plan {
  const entries: PlanEntry[] = [];
  const seen = new Set<ResourceKey>();
  for (const r of desired) {
    const key = keyOf(r);
    seen.add(key);
    const file = `${r.source.file}:${r.source.line}`;
    const old = appliedHashes.get(key);
    if (old === undefined) entries.push({ key, kind: r.kind, name: r.metadata.name, action: 'create', file });
    else if (old === r.hash) entries.push({ key, kind: r.kind, name: r.metadata.name, action: 'unchanged', file });
    else {
      const before = loadApplied(key);
      const changes = before ? diffFields(comparable(before), comparable(r)) : [];
      entries.push({ key, kind: r.kind, name: r.metadata.name, action: 'update', file, changes });
    }
  }
  for (const key of appliedHashes.keys()) {
    if (seen.has(key)) continue;
    const i = key.indexOf('/');
    entries.push({ key, kind: key.slice(0, i), name: key.slice(i + 1), action: 'delete' });
  }
  // Names are unique within a kind (the key is kind/name), so two entries never compare equal.
  entries.sort((a, b) => kindRank(a.kind) - kindRank(b.kind) || (a.name < b.name ? -1 : 1));
  const summary: Record<Action, number> = { create: 0, update: 0, delete: 0, unchanged: 0 };
  for (const e of entries) summary[e.action]++;
  return { entries, summary };
}

export function hasChanges(p: Plan): boolean {
  return p.summary.create + p.summary.update + p.summary.delete > 0;
}

function comparable(r: Resource): Record<string, unknown> {
  return { metadata: r.metadata, spec: r.spec };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural diff; lists are compared by index (steps and subtasks are ordered). */
export function diffFields(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (isObject(before) && isObject(after)) {
    const out: FieldChange[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const k of keys) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in after)) out.push({ path: p, op: 'remove', before: before[k] });
      else if (!(k in before)) out.push({ path: p, op: 'add', after: after[k] });
      else out.push(...diffFields(before[k], after[k], p));
    }
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: FieldChange[] = [];
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}[${i}]`;
      if (i >= after.length) out.push({ path: p, op: 'remove', before: before[i] });
      else if (i >= before.length) out.push({ path: p, op: 'add', after: after[i] });
      else out.push(...diffFields(before[i], after[i], p));
    }
    return out;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path, op: 'change', before, after }];
}

type Change = Exclude<Action, 'unchanged'>;

/** How each change is shown: its sign, its ANSI colour and its verb. */
const LOOK: Record<Change, { sign: string; color: string; verb: string }> = {
  create: { sign: '+', color: '32', verb: 'will be created' },
  update: { sign: '~', color: '33', verb: 'will be updated in place' },
  delete: { sign: '-', color: '31', verb: 'will be pruned' },
};

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'null' : s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** Renders a plan for people, terraform style. */
export function formatPlan(p: Plan, opts: { color?: boolean; revision?: string } = {}): string {
  const c = (code: string, s: string): string => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lines: string[] = [];
  if (opts.revision) lines.push(`Plan for revision ${opts.revision}:`, '');
  const changed = p.entries.filter((e): e is PlanEntry & { action: Change } => e.action !== 'unchanged');
  if (changed.length === 0) {
    lines.push('No changes. The applied state matches the configuration.');
    return `${lines.join('\n')}\n`;
  }
  lines.push('Caduceus will perform the following actions:', '');
  for (const e of changed) {
    const look = LOOK[e.action];
    lines.push(
      c(look.color, `  ${look.sign} ${e.kind} "${e.name}" ${look.verb}`) + (e.file ? c('2', `  (${e.file})`) : ''),
    );
    for (const ch of e.changes ?? []) {
      if (ch.op === 'add') lines.push(c('32', `      + ${ch.path} = ${show(ch.after)}`));
      else if (ch.op === 'remove') lines.push(c('31', `      - ${ch.path} = ${show(ch.before)}`));
      else lines.push(c('33', `      ~ ${ch.path}: ${show(ch.before)} -> ${show(ch.after)}`));
    }
  }
  const s = p.summary;
  lines.push('', `Plan: ${s.create} to create, ${s.update} to update, ${s.delete} to prune, ${s.unchanged} unchanged.`);
  return `${lines.join('\n')}\n`;
}
