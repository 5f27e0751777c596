// The per-file half of loading: one file's bytes to its documents' facts and findings
// (YAML with positions, schema with defaults, per-document checks). It depends on nothing
// but the bytes (and, for an Agent Skills SKILL.md, its folder and the folder's files), so
// the loader caches it by that key and may run it on a worker thread.

import { errorMessage } from './errors.js';
import { checkAgainstSchema, checkDocument } from './schema-check.js';
import { docFacts, type DocFacts } from './resource-facts.js';
import { parseSkillMd } from './skill-md.js';
import { parseYamlFile, type FileFinding } from './yaml-documents.js';

/** Per-file result, independent of the file's path so equal content shares it. */
export interface ParsedFile {
  docs: DocFacts[];
  findings: FileFinding[];
}

/** Where a SKILL.md sits: its folder (relative to the configuration root) and that folder's files. */
export interface SkillPlace {
  folder: string;
  files: string[];
}

/**
 * Parse, schema and per-document checks of one file. Whatever one file makes a stage do is
 * that file's finding: the revision is rejected with it, instead of every sync failing on
 * the same exception.
 */
export function parseFile(bytes: Buffer, keepResources = true): ParsedFile {
  return guarded(() => parseChecked(bytes, keepResources));
}

function guarded(parse: () => ParsedFile): ParsedFile {
  try {
    return parse();
  } catch (err) {
    const message = `cannot check this file: ${errorMessage(err)}`;
    return { docs: [], findings: [{ line: 1, column: 1, severity: 'error', rule: 'unreadable', message }] };
  }
}

/**
 * `keepResources: false` keeps the facts and findings of each document but not its content
 * (DocFacts.resource): a caller that only checks (`caduceus validate`) then holds no parsed
 * tree past its file, which the garbage collector would otherwise copy until the end.
 */
function parseChecked(bytes: Buffer, keepResources: boolean): ParsedFile {
  const { documents, findings } = parseYamlFile(bytes);
  const docs: DocFacts[] = [];
  for (const doc of documents) {
    const checked = checkDocument(doc, findings);
    if (!checked) continue;
    const facts = docFacts(doc, checked, findings, keepResources);
    if (facts) docs.push(facts);
  }
  return { docs, findings };
}

/** An Agent Skills folder's SKILL.md, as one Skill document through the same checks as YAML. */
export function parseSkillMdFile(bytes: Buffer, place: SkillPlace, keepResources = true): ParsedFile {
  const { document, findings } = parseSkillMd(bytes, place, (doc, out) => checkAgainstSchema('SkillMd', doc, out));
  const docs: DocFacts[] = [];
  const checked = document ? checkDocument(document, findings) : undefined;
  const facts = document && checked ? docFacts(document, checked, findings, keepResources) : undefined;
  if (facts) docs.push(facts);
  return { docs, findings };
}

/** A configuration file: a SKILL.md when it has a place, YAML otherwise. */
export function parseSource(bytes: Buffer, place: SkillPlace | undefined, keepResources = true): ParsedFile {
  return place ? guarded(() => parseSkillMdFile(bytes, place, keepResources)) : parseFile(bytes, keepResources);
}
