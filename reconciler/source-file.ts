// A configuration file of one revision as its producers (the git sources, a directory on
// disk, the curator's work tree) hand it to the loader: a path, a content id and a lazy read.

import { createHash, hash } from 'node:crypto';

export interface SourceFile {
  /** Path relative to the configuration root, forward slashes. */
  path: string;
  /** Content id (git blob SHA or content hash); equal ids mean equal content. */
  id: string;
  read(): Promise<Buffer>;
  /**
   * The content, when the producer holds it already (a directory read in batches): the
   * loader takes it as it is, without a promise per file.
   */
  readonly bytes?: Buffer;
}

/** A file whose content was read with its listing (its id was computed from these bytes). */
export class ReadFile implements SourceFile {
  constructor(
    readonly path: string,
    readonly id: string,
    readonly bytes: Buffer,
  ) {}

  read(): Promise<Buffer> {
    return Promise.resolve(this.bytes);
  }
}

/** The id git gives the same content (sha1 of "blob <size>\0" + bytes). */
export function gitBlobId(bytes: Buffer): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/**
 * A content id for files that are not in git (a directory on disk): one sha1 of the bytes,
 * about half the cost of gitBlobId's two updates, which listing 11,000 files pays each load.
 * Never equal to a git blob id of the same bytes; ids are compared within one source.
 */
export function contentId(bytes: Buffer): string {
  return `sha1:${hash('sha1', bytes, 'hex')}`;
}
