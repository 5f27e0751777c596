// Agent Skills folders (`skills/NAME/SKILL.md`) as Skill resources: the YAML front matter
// is checked against schemas/skill-md.schema.json with positions in the SKILL.md, the
// name must be the folder's, the body becomes `spec.instructions`, and the folder's other
// files (scripts/, references/, assets/) are listed in `spec.agentSkill.files`. The result
// is one Skill document that goes through the same schema and facts as a YAML skill.

import { yamlLib } from './yaml-lib.js';
import { MAX_FILE_BYTES, parseYamlFile, type FileFinding, type LineCol, type YamlDocument } from './yaml-documents.js';
import { API_VERSION } from './types.js';
import type { SkillParam, SkillStep } from './specs.js';

export const SKILL_MD = 'SKILL.md';
/** Lines of instructions the Agent Skills format advises at most; more is a warning. */
const ADVISED_BODY_LINES = 500;
const SKILL_MD_PATH = /^(?:.*\/)?skills\/([^/]+)\/SKILL\.md$/;
/** Files inside a skill folder: read as the folder's resources, never as configuration YAML. */
const SKILL_FOLDER_FILE = /^(?:.*\/)?skills\/[^/]+\/(?:scripts|references|assets)\/.+$/;

/** True for `…/skills/NAME/SKILL.md` (a path relative to the configuration root). */
export function isSkillMdPath(path: string): boolean {
  return SKILL_MD_PATH.test(path);
}

/** True for a file in a skill folder's scripts/, references/ or assets/. */
export function isSkillFolderFile(path: string): boolean {
  return SKILL_FOLDER_FILE.test(path);
}

/** The folder of a SKILL.md path and the files of that folder among `paths`, relative to it. */
export function skillFolderFiles(skillMdPath: string, paths: readonly string[]): { folder: string; files: string[] } {
  const folder = skillMdPath.slice(0, -(SKILL_MD.length + 1));
  const prefix = `${folder}/`;
  const files = paths
    .filter((p) => p.startsWith(prefix) && isSkillFolderFile(p))
    .map((p) => p.slice(prefix.length))
    .sort();
  return { folder, files };
}

/** Front-matter keys and the Skill document paths they become (for positions). */
const PLACES: ReadonlyArray<[readonly string[], readonly (string | number)[]]> = [
  [['metadata', 'name'], ['name']],
  [['spec', 'description'], ['description']],
  [
    ['spec', 'version'],
    ['metadata', 'version'],
  ],
  [['spec', 'agentSkill', 'license'], ['license']],
  [['spec', 'agentSkill', 'compatibility'], ['compatibility']],
  [['spec', 'agentSkill', 'allowedTools'], ['allowed-tools']],
  [['spec', 'agentSkill', 'metadata'], ['metadata']],
];

/**
 * Parses one SKILL.md. Returns the Skill document (undefined when the front matter is
 * unusable) and the findings, placed in the SKILL.md. `checkFrontMatter` validates the
 * front matter against its schema (schema-check.ts; passed in to keep this file free of ajv).
 */
export function parseSkillMd(
  bytes: Buffer,
  place: { folder: string; files: string[] },
  checkFrontMatter: (doc: YamlDocument, findings: FileFinding[]) => boolean,
): { document?: YamlDocument; findings: FileFinding[] } {
  const findings: FileFinding[] = [];
  if (bytes.length > MAX_FILE_BYTES)
    return {
      findings: [
        {
          line: 1,
          column: 1,
          severity: 'error',
          rule: 'file-too-large',
          message: `file is ${bytes.length} bytes, over the 1 MiB limit; move material to references/`,
        },
      ],
    };
  const text = bytes.toString('utf8');
  const lines = text.split('\n');
  const err = (at: LineCol, message: string, rule = 'skill-md'): { findings: FileFinding[] } => {
    findings.push({ ...at, severity: 'error', rule, message });
    return { findings };
  };
  if (lines[0]?.trimEnd() !== '---')
    return err({ line: 1, column: 1 }, 'a SKILL.md starts with YAML front matter between two "---" lines');
  const close = lines.findIndex((l, i) => i > 0 && l.trimEnd() === '---');
  if (close < 0) return err({ line: 1, column: 1 }, 'the front matter has no closing "---" line');
  // Front matter positions are shifted by the opening line.
  const shift = (p: LineCol): LineCol => ({ line: p.line + 1, column: p.column });
  const parsed = parseYamlFile(Buffer.from(lines.slice(1, close).join('\n')), { fastPath: false });
  for (const f of parsed.findings) findings.push({ ...f, ...shift(f) });
  const fm = parsed.documents[0];
  if (!fm) {
    if (parsed.findings.length === 0)
      err({ line: 2, column: 1 }, 'the front matter is empty: set name and description');
    return { findings };
  }
  const fmAt: YamlDocument = { ...fm, start: shift(fm.start), locate: (p, at) => shift(fm.locate(p, at)) };
  if (typeof fm.value !== 'object' || fm.value === null || Array.isArray(fm.value))
    return err(fmAt.start, 'the front matter must be a mapping with name and description');
  if (!checkFrontMatter(fmAt, findings)) return { findings };
  const v = fm.value as {
    name: string;
    description: string;
    license?: string;
    compatibility?: string;
    metadata?: Record<string, string>;
    'allowed-tools'?: string;
  };
  const folderName = place.folder.split('/').pop();
  if (v.name !== folderName)
    return err(fmAt.locate(['name']), `name "${v.name}" must be the folder's name "${folderName}"`, 'skill-md');

  const bodyStart: LineCol = { line: close + 2, column: 1 };
  const body = lines
    .slice(close + 1)
    .join('\n')
    .trim();
  const agentSkill: Record<string, unknown> = { folder: place.folder, files: place.files };
  if (v.license !== undefined) agentSkill.license = v.license;
  if (v.compatibility !== undefined) agentSkill.compatibility = v.compatibility;
  if (v['allowed-tools'] !== undefined) agentSkill.allowedTools = v['allowed-tools'];
  if (v.metadata !== undefined) agentSkill.metadata = v.metadata;
  const spec: Record<string, unknown> = {
    version: v.metadata?.version ?? '1.0.0',
    description: v.description,
    agentSkill,
  };
  if (body === '') return err(bodyStart, 'the SKILL.md has no instructions after its front matter');
  const bodyLines = body.split('\n').length;
  if (bodyLines > ADVISED_BODY_LINES)
    findings.push({
      ...bodyStart,
      severity: 'warning',
      rule: 'skill-md-size',
      message:
        `the instructions are ${bodyLines} lines, over the ${ADVISED_BODY_LINES} the Agent Skills format advises ` +
        '(the agent reads them whole); move details to references/',
    });
  spec.instructions = body;
  const value = { apiVersion: API_VERSION, kind: 'Skill', metadata: { name: v.name }, spec };
  const locate: YamlDocument['locate'] = (path, at) => {
    if (path[0] === 'spec' && path[1] === 'instructions') return bodyStart;
    for (const [docPath, fmPath] of PLACES) {
      if (docPath.every((k, i) => path[i] === k)) return fmAt.locate([...fmPath, ...path.slice(docPath.length)], at);
    }
    return fmAt.start;
  };
  return { document: { value, start: { line: 1, column: 1 }, locate }, findings };
}

/**
 * What an agent (or an MCP client) is given when it chooses a skill with instructions: the
 * instructions, and the folder's files as paths under CADUCEUS_CONFIG_DIR, which every
 * shell command sees (the configuration, read-only at /config in the Docker sandbox).
 */
export function skillInstructions(skill: {
  metadata: { name: string };
  spec: { instructions?: string; agentSkill?: { folder: string; files: string[] } };
}): string {
  const lines = [`Instructions of the skill ${skill.metadata.name}; follow them with your tools:`, ''];
  lines.push(skill.spec.instructions ?? '(none)');
  const src = skill.spec.agentSkill;
  if (src && src.files.length > 0) {
    lines.push(
      '',
      `Files of the skill, under "$CADUCEUS_CONFIG_DIR/${src.folder}/" (read them with cat, ` +
        `run scripts with the shell tool, e.g. sh "$CADUCEUS_CONFIG_DIR/${src.folder}/${src.files[0]}"):`,
    );
    for (const f of src.files) lines.push(`- ${f}`);
  }
  return lines.join('\n');
}

/** What a SKILL.md is written from: a YAML skill (`caduceus skill export`) or a learned one. */
export interface SkillMdContent {
  name: string;
  description: string;
  version: string;
  instructions?: string;
  params: readonly SkillParam[];
  steps: readonly SkillStep[];
  /** Heading of the steps section (default `Steps`). */
  stepsHeading?: string;
  /** The paragraph under that heading (default: how params reach the steps). */
  stepsNote?: string;
}

/** A SKILL.md (front matter and body) for an agent to follow: the instructions, then the params and steps. */
export function renderSkillMd(skill: SkillMdContent): string {
  const fm = { name: skill.name, description: skill.description, metadata: { version: skill.version } };
  const body: string[] = [];
  if (skill.instructions) body.push(skill.instructions.trim(), '');
  if (skill.params.length) {
    body.push('## Parameters', '');
    for (const p of skill.params) {
      const facts = [
        p.type,
        p.required ? 'required' : '',
        p.default !== undefined ? `default ${JSON.stringify(p.default)}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      body.push(`- \`${p.name}\` (${facts})${p.description ? `: ${p.description}` : ''}`);
    }
    body.push('');
  }
  if (skill.steps.length) {
    const note = skill.stepsNote ?? 'Each parameter is in the environment as PARAM_<NAME> (upper case, - as _).';
    body.push(`## ${skill.stepsHeading ?? 'Steps'}`, '', note, '');
    skill.steps.forEach((step, i) => {
      body.push(`${i + 1}. ${step.name ?? step.id ?? `step ${i + 1}`}`);
      if (step.run) body.push('', '```sh', step.run.trimEnd(), '```', '');
      else body.push('', '```yaml', yamlLib().stringify(step).trimEnd(), '```', '');
    });
  }
  return `---\n${yamlLib().stringify(fm)}---\n${body.join('\n').trim()}\n`;
}
