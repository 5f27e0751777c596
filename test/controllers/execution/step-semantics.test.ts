// What a step promises, as people know it from CI: a `run` step fails when any command or
// any part of a pipeline fails (bash -eo pipefail, or sh -e when it asks for sh), in the
// container as on the host; a failed step's error text never reaches the next step as its
// output; a `file` step touches regular files only and never stalls the daemon.

import { describe, it, expect, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { harness, runtime, skill, cli, type Harness } from './helpers.js';
import { tempDir } from '../../helpers/temp.js';
import { dockerReady, runDockerTests, SANDBOX } from './docker-env.js';

const ready = await dockerReady();

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const modes = [
  ['local', () => runtime()],
  ['docker', () => runtime({ execution: { mode: 'docker' }, isolation: { image: SANDBOX } })],
] as const;

describe.each(modes)('run steps (%s)', (mode, rt) => {
  const enabled = mode === 'local' || runDockerTests(ready);

  it.runIf(enabled).each([
    ['a command before the last fails', 'false; echo after'],
    ['the first part of a pipeline fails', 'false | cat; echo after'],
    ['a middle part of a pipeline fails', 'echo x | (cat; exit 4) | cat; echo after'],
    ['an assignment from a failing command substitution fails', 'v=$(exit 7); echo after'],
  ])('fails the step when %s', async (_what, command) => {
    h = harness([rt(), skill('strict', { steps: [{ run: command }, { run: 'echo next' }] })]);
    const r = await h.runner.runSkill('strict', {}, cli);
    expect(r.status).toBe('failed');
    expect(r.steps.map((s) => s.status)).toEqual(['failed', 'skipped']);
    expect(r.steps[0]?.exitCode).not.toBe(0);
    expect(r.output).not.toContain('after');
  });

  it.runIf(enabled)('fails a run subtask (exec) when a command before the last fails', async () => {
    h = harness([rt()]);
    const r = await h.runner.exec({ command: 'false | cat; echo after' }, cli);
    expect(r.status).toBe('failed');
    expect(r.output).not.toContain('after');
  });

  it.runIf(enabled)('runs `shell: sh` as sh -e: a failed command fails, a pipeline is judged by its end', async () => {
    h = harness([
      rt(),
      skill('sh-pipe', { steps: [{ shell: 'sh', run: 'false | true; echo piped' }] }),
      skill('sh-fail', { steps: [{ shell: 'sh', run: 'false; echo after' }] }),
    ]);
    const piped = await h.runner.runSkill('sh-pipe', {}, cli);
    expect(piped.status).toBe('succeeded');
    expect(piped.output.trim()).toBe('piped');
    const failed = await h.runner.runSkill('sh-fail', {}, cli);
    expect(failed.status).toBe('failed');
    expect(failed.output).not.toContain('after');
  });

  it.runIf(enabled)('hands the next step an empty output and the outcome of a step that failed', async () => {
    h = harness([
      rt(),
      skill('carry-on', {
        steps: [
          { id: 'probe', run: 'echo "curl: (7) could not connect" >&2; exit 3', continueOnError: true },
          { id: 'use', run: 'echo "got [$STEP_PROBE_OUTPUT] outcome $STEP_PROBE_OUTCOME"' },
        ],
      }),
      skill('last-fails', {
        steps: [
          { id: 'ok', run: 'echo the answer' },
          { id: 'bad', run: 'echo "error text" >&2; exit 2', continueOnError: true },
        ],
      }),
    ]);
    const r = await h.runner.runSkill('carry-on', {}, cli);
    expect(r.status).toBe('succeeded');
    expect(r.steps[0]?.outputTail).toContain('could not connect');
    expect(r.output.trim()).toBe('got [] outcome failed');
    // A failed last step does not become the skill's answer either.
    const last = await h.runner.runSkill('last-fails', {}, cli);
    expect(last.status).toBe('succeeded');
    expect(last.output.trim()).toBe('the answer');
  });
});

describe('run steps (local)', () => {
  it('runs the default and `shell: bash` with bash, errexit and pipefail on', async () => {
    h = harness([
      runtime({ execution: { envAllowlist: ['PATH'] } }),
      skill('which-shell', {
        steps: [
          { id: 'a', run: 'echo "bash $BASH_VERSION $-"; set -o | grep -c "^pipefail[[:space:]]*on"' },
          { shell: 'bash', run: 'echo "$-"; set -o | grep -c "^pipefail[[:space:]]*on"' },
        ],
      }),
    ]);
    const r = await h.runner.runSkill('which-shell', {}, { ...cli });
    expect(r.status).toBe('succeeded');
    expect(r.steps[0]?.outputTail).toMatch(/^bash \d+\.\S+ \S*e\S*\n1\n$/);
    expect(r.steps[1]?.outputTail).toMatch(/^\S*e\S*\n1\n$/);
  });
});

describe('file steps', () => {
  const node = process.execPath;
  // Each special file is made by a run step in the workspace the file step then uses.
  const specials = [
    ['a FIFO with no writer', 'mkfifo special', 'read'],
    ['a FIFO with no reader', 'mkfifo special', 'write'],
    ['a FIFO, appended to', 'mkfifo special', 'append'],
    ['a character device', 'mknod special c 1 5', 'read'],
    ['a device, written to', 'mknod special c 1 3', 'write'],
    ['a socket', `"${node}" -e "require('net').createServer().listen('special', () => process.exit(0))"`, 'read'],
    ['a directory', 'mkdir special', 'read'],
    ['a directory, written to', 'mkdir special', 'write'],
    ['a FIFO behind a symlink that stays inside', 'mkfifo real && ln -s real special', 'write'],
    ['a device behind a symlink that stays inside', 'mknod real c 1 3 && ln -s real special', 'append'],
  ] as const;

  // Before, a FIFO froze the whole daemon in a blocking open(); a hang fails on the test timeout.
  it.each(specials)('refuses %s (%s) at once and runs no later step', { timeout: 20_000 }, async (_w, make, action) => {
    h = harness([
      runtime(),
      skill('special', {
        timeout: '1m',
        steps: [{ run: make }, { file: { path: 'special', action, content: 'x' } }, { run: 'echo after' }],
      }),
    ]);
    const r = await h.runner.runSkill('special', {}, cli);
    expect(r.status).toBe('failed');
    expect(r.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'skipped']);
    expect(r.steps[1]?.error).toMatch(/^file\.path: file path "special" is (a FIFO|a device|a socket|a directory)/);
  });

  it('reads and writes regular files as before, also through a symlink that stays inside', async () => {
    h = harness([
      runtime(),
      skill('regular', {
        steps: [
          { file: { path: 'notes/a.txt', action: 'write', content: 'a longer first text\n' } },
          { file: { path: 'notes/a.txt', action: 'write', content: 'one\n' } },
          { file: { path: 'notes/a.txt', action: 'append', content: 'two\n' } },
          { run: 'ln -s notes/a.txt link' },
          { file: { path: 'link', action: 'append', content: 'three\n' } },
          { file: { path: 'notes/a.txt', action: 'read' } },
        ],
      }),
    ]);
    const r = await h.runner.runSkill('regular', {}, cli);
    expect(r.status).toBe('succeeded');
    expect(r.output).toBe('one\ntwo\nthree\n');
  });

  it('times a file step out while file I/O cannot proceed; a small write needs no I/O thread', async () => {
    // Every thread of libuv's pool is held by an open() of a FIFO nobody writes to (as a
    // hung network file system would hold it), so a step's I/O through the pool cannot even
    // start: a large write times out. A write of up to 64 KiB is made synchronously and
    // goes through.
    const dir = tempDir('caduceus-fifo-');
    const fifos = Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE ?? 4) }, (_, i) => join(dir, `f${i}`));
    for (const f of fifos) execFileSync('mkfifo', [f]);
    const held = fifos.map((f) => open(f, 'r'));
    try {
      h = harness([
        runtime(),
        skill('stuck', {
          steps: [{ file: { path: 'out.txt', action: 'write', content: 'x'.repeat(65 * 1024) }, timeout: '300ms' }],
        }),
        skill('small', {
          steps: [{ file: { path: 'out.txt', action: 'write', content: 'x'.repeat(64 * 1024) }, timeout: '300ms' }],
        }),
      ]);
      const r = await h.runner.runSkill('stuck', {}, cli);
      expect(r.status).toBe('timedOut');
      expect(r.steps[0]?.error).toBe('timed out after 300ms');
      const small = await h.runner.runSkill('small', {}, cli);
      expect(small.status).toBe('succeeded');
      expect(small.steps[0]?.outputTail).toMatch(/^x+$/);
    } finally {
      for (const f of fifos) closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
      for (const fh of await Promise.all(held)) await fh.close();
    }
  });
});
