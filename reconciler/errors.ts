// Errors are values with a stable code, a message for people, and where it applies the
// YAML position or the HTTP field. `hint` says what to do next.

import type { ErrorCode } from './error-codes.js';
import type { SourcePos } from './types.js';
import { formatPosition } from './finding-format.js';

export class CaduceusError extends Error {
  /** Stable and closed: see error-codes.ts for what each means. */
  readonly code: ErrorCode;
  readonly pos?: SourcePos;
  readonly field?: string;
  readonly hint?: string;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { pos?: SourcePos; field?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CaduceusError';
    this.code = code;
    if (opts.pos) this.pos = opts.pos;
    if (opts.field) this.field = opts.field;
    if (opts.hint) this.hint = opts.hint;
  }

  /** `file:line:col: message (hint)` for people. */
  describe(): string {
    const where = this.pos ? `${formatPosition(this.pos)}: ` : this.field ? `${this.field}: ` : '';
    return `${where}${this.message}${this.hint ? ` (${this.hint})` : ''}`;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof CaduceusError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}
