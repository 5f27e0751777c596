// TEMPORARY STUB (replaced by the foundation work): the loader's interface.
import type { Finding, Resource } from './types.js';

export interface SourceFile {
  /** Path relative to the configuration root, forward slashes. */
  path: string;
  /** Content id (git blob SHA or content hash); equal ids mean equal content. */
  id: string;
  read(): Promise<Buffer>;
}

export interface LoadResult {
  resources: Resource[];
  findings: Finding[];
}

export class Loader {
  async load(_files: SourceFile[]): Promise<LoadResult> {
    throw new Error('loader not built yet');
  }
}

export async function loadDirectory(_dir: string): Promise<LoadResult> {
  throw new Error('loader not built yet');
}
