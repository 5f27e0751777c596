// Turns a proposal into file edits on the ConfigTree overlay: archiving or removing a
// skill's document, and for a consolidation rewriting every reference to the merged names,
// giving the kept skill their params and aliases, and archiving the merged documents.

import { SKILL_MD } from '../../reconciler/skill-md.js';
import { posix } from 'node:path';
import { isMap, isScalar, isSeq, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { CuratorSpec } from '../../reconciler/specs.js';
import type { Resource } from '../../reconciler/types.js';
import { YamlEditor } from './yaml-edit.js';
import type { ConfigTree } from './tree.js';
import type { Proposal } from './types.js';
import type { Signals } from './signals.js';

export interface EditContext {
  tree: ConfigTree;
  /** Resources as loaded from the tree before any proposal, by `Kind/name`. */
  resources: ReadonlyMap<string, Resource>;
  signals: Signals;
  spec: CuratorSpec;
}

/** Applies one proposal to the overlay; returns the config-relative files it touched. */
export function applyProposal(ctx: EditContext, p: Proposal): string[] {
  const session = new EditSession(ctx);
  if (p.action === 'prune') for (const name of p.skills) session.retire(name);
  else if (p.action === 'consolidate') {
    const [keep, ...merged] = p.skills as [string, ...string[]];
    session.rewriteReferences(keep, merged);
    session.absorb(keep, merged);
    for (const m of merged) session.retire(m);
  }
  return session.commit();
}

class EditSession {
  private readonly editors = new Map<string, YamlEditor>();
  private readonly touched = new Set<string>();

  constructor(private readonly ctx: EditContext) {}

  private editor(file: string): YamlEditor {
    let ed = this.editors.get(file);
    if (!ed) {
      ed = new YamlEditor(this.ctx.tree.read(file));
      this.editors.set(file, ed);
    }
    return ed;
  }

  private skill(name: string): Resource<'Skill'> {
    const r = this.ctx.resources.get(`Skill/${name}`);
    if (!r) throw new Error(`skill ${name} is not in the tree`);
    return r as Resource<'Skill'>;
  }

  /** Moves the skill's document to the archive folder, or deletes it when archive is off. */
  retire(name: string): void {
    const src = this.skill(name).spec.agentSkill;
    if (src) {
      // An Agent Skills folder goes whole: its SKILL.md with its scripts and references.
      for (const f of [SKILL_MD, ...src.files]) {
        const rel = posix.join(src.folder, f);
        if (this.ctx.spec.archive) this.write(this.archivePath(rel), this.ctx.tree.read(rel));
        this.ctx.tree.remove(rel);
        this.touched.add(rel);
      }
      return;
    }
    const file = this.skill(name).source.file;
    const ed = this.editor(file);
    const found = ed.findDoc('Skill', name);
    if (!found) throw new Error(`${file} has no Skill ${name}`);
    const docs = ed.docs.filter((d) => d.contents !== null).length;
    if (docs === 1 && !ed.changed()) {
      if (this.ctx.spec.archive) this.write(this.archivePath(file), this.ctx.tree.read(file));
      this.ctx.tree.remove(file);
      this.editors.delete(file);
      this.touched.add(file);
      return;
    }
    if (this.ctx.spec.archive) {
      const target = this.archivePath(posix.join(posix.dirname(file), `${name}.yaml`));
      this.write(target, ed.documentSource(found.index));
    }
    ed.removeDocument(found.index);
  }

  /** Points every task subtask, skill-call step, proxy preload and gateway permission at `keep`. */
  rewriteReferences(keep: string, merged: string[]): void {
    const old = new Set(merged);
    const by = new Set<string>();
    for (const m of merged) for (const ref of this.ctx.signals.byName.get(m)?.referencedBy ?? []) by.add(ref);
    for (const key of by) {
      const r = this.ctx.resources.get(key);
      if (!r || (r.kind === 'Skill' && (old.has(r.metadata.name) || r.metadata.name === keep))) continue;
      const ed = this.editor(r.source.file);
      const doc = ed.findDoc(r.kind, r.metadata.name)?.doc;
      if (!doc) continue;
      if (r.kind === 'Task') {
        for (const item of seqItems(doc.getIn(['spec', 'subtasks'], true))) {
          const node = isMap(item) ? item.get('skill', true) : undefined;
          if (isScalar(node) && old.has(String(node.value))) ed.replaceScalar(node as Scalar, keep);
        }
      } else if (r.kind === 'Skill') {
        for (const item of seqItems(doc.getIn(['spec', 'steps'], true))) {
          const node = isMap(item) ? item.getIn(['skill', 'name'], true) : undefined;
          if (isScalar(node) && old.has(String(node.value))) ed.replaceScalar(node as Scalar, keep);
        }
      } else if (r.kind === 'Proxy') {
        renameInList(ed, doc.getIn(['spec', 'preload'], true), old, keep);
      } else if (r.kind === 'GatewayPolicy') {
        for (const role of seqItems(doc.getIn(['spec', 'roles'], true))) {
          if (isMap(role)) renameInList(ed, role.getIn(['permissions', 'skills'], true), old, keep);
        }
      }
    }
  }

  /** Gives `keep` the merged skills' names (and their aliases) as aliases and the params it lacks. */
  absorb(keep: string, merged: string[]): void {
    const k = this.skill(keep);
    // A SKILL.md has no aliases or typed params to take in; its callers are rewritten all the same.
    if (k.spec.agentSkill) return;
    const ed = this.editor(k.source.file);
    const found = ed.findDoc('Skill', keep);
    const doc = found?.doc;
    const spec = doc?.get('spec', true);
    if (!doc || !isMap(spec)) throw new Error(`${k.source.file}: Skill ${keep} has no spec mapping`);
    const aliases = new Set(k.spec.aliases ?? []);
    const newAliases: string[] = [];
    const params = new Set((k.spec.params ?? []).map((p) => p.name));
    const newParams: Array<Record<string, unknown>> = [];
    for (const m of merged) {
      const ms = this.skill(m);
      for (const a of [m, ...(ms.spec.aliases ?? [])])
        if (a !== keep && !aliases.has(a)) {
          aliases.add(a);
          newAliases.push(a);
        }
      // Params come from the source document, not the defaulted spec, so no defaults leak in.
      const mdoc = ms.spec.agentSkill ? undefined : this.editor(ms.source.file).findDoc('Skill', m)?.doc;
      for (const item of seqItems(mdoc?.getIn(['spec', 'params'], true))) {
        const p = (isMap(item) ? item.toJSON() : undefined) as Record<string, unknown> | undefined;
        if (!p || typeof p.name !== 'string' || params.has(p.name)) continue;
        params.add(p.name);
        // `keep`'s callers never passed it: a param without a default cannot stay required.
        if (p.required === true && p.default === undefined) p.required = false;
        newParams.push(p);
      }
    }
    const seqIndent = ed.seqIndent(found?.index);
    appendOrAdd(ed, spec, 'params', newParams, seqIndent);
    appendOrAdd(ed, spec, 'aliases', newAliases, seqIndent);
  }

  private write(file: string, text: string): void {
    this.ctx.tree.write(file, text);
    this.touched.add(file);
  }

  /** `<archiveDir>/<path>`, with a numeric suffix when something is archived there already. */
  private archivePath(file: string): string {
    const base = posix.join(this.ctx.spec.archiveDir, file);
    if (!this.ctx.tree.exists(base)) return base;
    const ext = posix.extname(base);
    for (let i = 2; ; i++) {
      const p = `${base.slice(0, base.length - ext.length)}-${i}${ext}`;
      if (!this.ctx.tree.exists(p)) return p;
    }
  }

  /** Writes every edited file into the overlay. */
  commit(): string[] {
    for (const [file, ed] of this.editors) {
      if (!ed.changed()) continue;
      this.ctx.tree.write(file, ed.result());
      this.touched.add(file);
    }
    return [...this.touched].sort();
  }
}

function seqItems(node: unknown): unknown[] {
  return isSeq(node) ? (node as YAMLSeq).items : [];
}

/** Renames entries of a list of skill names; an entry whose new name is already listed is dropped. */
function renameInList(ed: YamlEditor, node: unknown, old: ReadonlySet<string>, keep: string): void {
  if (!isSeq(node)) return;
  const seq = node as YAMLSeq;
  const present = new Set(
    seq.items
      .filter(isScalar)
      .map((s) => String(s.value))
      .filter((v) => !old.has(v)),
  );
  if (seq.flow) {
    // A flow list is one splice: rewrite it whole.
    const values: string[] = [];
    for (const item of seq.items) {
      const v = isScalar(item) ? String(item.value) : undefined;
      if (v === undefined) return;
      const nv = old.has(v) ? keep : v;
      if (!values.includes(nv)) values.push(nv);
    }
    if (values.join('\0') !== seq.items.map((i) => String((i as Scalar).value)).join('\0'))
      ed.setFlowItems(seq, values);
    return;
  }
  seq.items.forEach((item, i) => {
    if (!isScalar(item) || !old.has(String(item.value))) return;
    if (present.has(keep)) ed.removeSeqItem(seq, i);
    else {
      ed.replaceScalar(item, keep);
      present.add(keep);
    }
  });
}

function appendOrAdd(ed: YamlEditor, spec: YAMLMap, key: string, values: unknown[], seqIndent: number): void {
  if (values.length === 0) return;
  const existing = spec.get(key, true);
  if (isSeq(existing)) ed.appendSeqItems(existing as YAMLSeq, values);
  else ed.addMapPair(spec, key, values, seqIndent);
}
