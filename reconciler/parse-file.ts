// The per-file half of loading: one file's bytes to its documents' facts and findings
// (YAML with positions, schema with defaults, per-document checks). It depends on nothing
// but the bytes, so the loader caches it by content id and may run it on a worker thread.

import { errorMessage } from './errors.js';
import { checkDocument } from './schema-check.js';
import { docFacts, type DocFacts } from './resource-facts.js';
import { parseYamlFile, type FileFinding } from './yaml-documents.js';

/** Per-file result, independent of the file's path so equal content shares it. */
export interface ParsedFile {
  docs: DocFacts[];
  findings: FileFinding[];
}

/**
 * Parse, schema and per-document checks of one file. Whatever one file makes a stage do is
 * that file's finding: the revision is rejected with it, instead of every sync failing on
 * the same exception.
 */
export function parseFile(bytes: Buffer): ParsedFile {
  try {
    return parseChecked(bytes);
  } catch (err) {
    const message = `cannot check this file: ${errorMessage(err)}`;
    return { docs: [], findings: [{ line: 1, column: 1, severity: 'error', rule: 'unreadable', message }] };
  }
}

function parseChecked(bytes: Buffer): ParsedFile {
  const { documents, findings } = parseYamlFile(bytes);
  const docs: DocFacts[] = [];
  for (const doc of documents) {
    const checked = checkDocument(doc, findings);
    if (!checked) continue;
    const facts = docFacts(doc, checked, findings);
    if (facts) docs.push(facts);
  }
  return { docs, findings };
}
