// Secret references resolved from the environment and from files, the errors when they
// are unset, and the redaction of every value resolved so far (and of URL credentials).
// Each test uses values of its own: resolved values are remembered for the whole process.

import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaduceusError } from '../../reconciler/errors.js';
import { describeRef, redact, redactUrl, resolveSecret } from '../../reconciler/secrets.js';
import type { SecretRef } from '../../reconciler/specs.js';
import { tempDir } from '../helpers/temp.js';

const env = (name: string): SecretRef => ({ valueFrom: { env: name } });
const file = (path: string): SecretRef => ({ valueFrom: { file: path } });

function unset(ref: SecretRef, opts: Parameters<typeof resolveSecret>[1]): CaduceusError {
  try {
    resolveSecret(ref, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(CaduceusError);
    return e as CaduceusError;
  }
  throw new Error('the secret resolved');
}

describe('resolveSecret', () => {
  it('reads a variable from the given environment, else from the process', () => {
    expect(resolveSecret(env('TOKEN_A'), { env: { TOKEN_A: 'value-from-opts' } })).toBe('value-from-opts');
    process.env.CADUCEUS_TEST_SECRET_B = 'value-from-process';
    try {
      expect(resolveSecret(env('CADUCEUS_TEST_SECRET_B'))).toBe('value-from-process');
      // A given environment replaces the process's, it is not merged with it.
      expect(unset(env('CADUCEUS_TEST_SECRET_B'), { env: {} }).code).toBe('SecretUnset');
    } finally {
      delete process.env.CADUCEUS_TEST_SECRET_B;
    }
  });

  it('reads a file, absolute or relative to baseDir (else the working directory), without one final newline', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'lf'), 'file-secret-lf\n');
    writeFileSync(join(dir, 'crlf'), 'file-secret-crlf\r\n');
    writeFileSync(join(dir, 'two'), 'line-one\nline-two\n\n');
    writeFileSync(join(dir, 'bare'), 'file-secret-bare');
    expect(resolveSecret(file(join(dir, 'lf')))).toBe('file-secret-lf');
    expect(resolveSecret(file('crlf'), { baseDir: dir })).toBe('file-secret-crlf');
    expect(resolveSecret(file('two'), { baseDir: dir })).toBe('line-one\nline-two\n');
    expect(resolveSecret(file(relative(process.cwd(), join(dir, 'bare'))))).toBe('file-secret-bare');
    expect(resolveSecret(file(join(dir, 'bare')), { baseDir: '/nonexistent' })).toBe('file-secret-bare');
  });

  it('refuses a missing, empty or whitespace-only value with SecretUnset and how to set it', () => {
    const missing = unset(env('NOT_SET_ANYWHERE'), { env: {} });
    expect(missing.code).toBe('SecretUnset');
    expect(missing.message).toBe('secret reference env NOT_SET_ANYWHERE is unset or empty');
    expect(missing.hint).toBe('export NOT_SET_ANYWHERE=…');
    expect(unset(env('EMPTY'), { env: { EMPTY: '' } }).message).toBe('secret reference env EMPTY is unset or empty');
    expect(unset(env('BLANK'), { env: { BLANK: ' \t ' } }).code).toBe('SecretUnset');
    const dir = tempDir();
    writeFileSync(join(dir, 'blank'), '  \n');
    const blank = unset(file('blank'), { baseDir: dir });
    expect(blank.message).toBe('secret reference file blank is unset or empty');
    expect(blank.hint).toBe('write the secret to blank');
    expect(unset(file(join(dir, 'absent')), {}).code).toBe('SecretUnset');
  });

  it('describes a reference by where it lives, never by its value', () => {
    expect(describeRef(env('API_KEY'))).toBe('env API_KEY');
    expect(describeRef(file('/run/secrets/key'))).toBe('file /run/secrets/key');
  });
});

describe('redact', () => {
  it('replaces every occurrence of every resolved value of four characters or more', () => {
    resolveSecret(env('R1'), { env: { R1: 'hunter2-long' } });
    resolveSecret(env('R2'), { env: { R2: 'wxyz' } });
    resolveSecret(env('R3'), { env: { R3: 'abc' } });
    expect(redact('a hunter2-long b hunter2-long c')).toBe('a [REDACTED] b [REDACTED] c');
    expect(redact('wxyz and abc')).toBe('[REDACTED] and abc');
    expect(redact('nothing secret here')).toBe('nothing secret here');
  });

  it('does not remember a value that failed to resolve', () => {
    unset(env('R4'), { env: { R4: '    ' } });
    expect(redact('a     b')).toBe('a     b');
  });
});

describe('redactUrl', () => {
  it('hides user:password@ in URLs of any scheme, every one in the text', () => {
    expect(redactUrl('fetch https://bob:pa55@git.example.com/r.git failed')).toBe(
      'fetch https://***@git.example.com/r.git failed',
    );
    expect(redactUrl('HTTPS://tok@h/x and git+ssh://git@github.com/o/r')).toBe(
      'HTTPS://***@h/x and git+ssh://***@github.com/o/r',
    );
    // Schemes of one letter, or ending in a digit, are schemes too.
    expect(redactUrl('x://user@h/ and h2://u:p@x/')).toBe('x://***@h/ and h2://***@x/');
  });

  it('leaves an @ in the path, an address without scheme and plain text alone', () => {
    expect(redactUrl('https://host/users/@me')).toBe('https://host/users/@me');
    expect(redactUrl('mail bob@example.com')).toBe('mail bob@example.com');
    expect(redactUrl('http://a b@c')).toBe('http://a b@c');
  });

  it('also redacts known secret values', () => {
    resolveSecret(env('R5'), { env: { R5: 'tok-in-url-9' } });
    expect(redactUrl('https://h/?key=tok-in-url-9')).toBe('https://h/?key=[REDACTED]');
  });
});
