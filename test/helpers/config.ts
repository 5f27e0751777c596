// Configuration for tests: resources as YAML, YAML files written to a temp dir, and a
// directory loaded with the real loader into the Snapshot that controllers read.

import { stringify } from 'yaml';
import { describeFinding } from '../../reconciler/finding-format.js';
import { loadDirectory } from '../../reconciler/loader.js';
import { keyOf, type Resource, type ResourceKey, type Snapshot } from '../../reconciler/types.js';
import { writeFiles } from './git.js';
import { tempDir } from './temp.js';

/** One resource as YAML, written by the `yaml` library from a plain spec object. */
export function doc(kind: string, name: string, spec: Record<string, unknown>): string {
  return stringify({ apiVersion: 'caduceus.dev/v1', kind, metadata: { name }, spec });
}

/** A fresh temp directory holding `files` (paths relative to it). */
export function configDir(files: Record<string, string>, prefix = 'caduceus-config-'): string {
  const dir = tempDir(prefix);
  writeFiles(dir, files);
  return dir;
}

/** Loads `dir` with the real loader; throws, listing every error, when the configuration is invalid. */
export async function loadSnapshot(dir: string, revision = `dir:${dir}`): Promise<Snapshot> {
  const { resources, findings } = await loadDirectory(dir);
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) throw new Error(`test configuration is invalid: ${errors.map(describeFinding).join('; ')}`);
  const map = new Map<ResourceKey, Resource>();
  for (const r of resources) map.set(keyOf(r), r);
  return { revision, resources: map };
}
