// The live progress of `caduceus run`: redrawn lines on a terminal, plain transition
// lines otherwise, written to a real stream.

import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { progressView } from '../../../app/commands/run-progress.js';

function capture(tty: boolean): { out: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const out = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  out.isTTY = tty;
  out.columns = 80;
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { out, text: () => text };
}

describe('run progress view', () => {
  it('redraws one line per subtask in place on a terminal', () => {
    const { out, text } = capture(true);
    const view = progressView(out);
    view.onProgress({ subtask: 'alpha', state: 'queued' });
    view.onProgress({ subtask: 'beta', state: 'queued' });
    view.onProgress({ subtask: 'alpha', state: 'running', attempt: 1 });
    view.onProgress({
      subtask: 'alpha',
      state: 'retrying',
      attempt: 1,
      message: 'attempt 1 failed: exit code 1; retrying in 1.0s',
    });
    view.onProgress({ subtask: 'alpha', state: 'succeeded', attempt: 2 });
    view.stop();
    const frames = text().split('\x1b[2F');
    // First frame draws one line, the second two, and every later frame moves back two lines.
    expect(frames.length).toBeGreaterThanOrEqual(4);
    const last = (frames[frames.length - 1] ?? '').split('\n').filter(Boolean);
    expect(last).toHaveLength(2);
    expect(last[0]).toMatch(/alpha\s+succeeded\s+\S+ attempt 2/);
    expect(last[1]).toMatch(/beta\s+queued/);
    for (const line of text().split('\n')) expect(stripVTControlCharacters(line).length).toBeLessThanOrEqual(80);
  });

  it('prints a plain line for each transition when not on a terminal', () => {
    const { out, text } = capture(false);
    const view = progressView(out);
    view.onProgress({ subtask: 'alpha', state: 'queued' });
    view.onProgress({ subtask: 'alpha', state: 'running', attempt: 1 });
    view.onProgress({ subtask: 'alpha', state: 'running', attempt: 1 });
    view.onProgress({ subtask: 'alpha', state: 'failed', attempt: 1, message: 'exit code 2' });
    view.stop();
    const lines = text().trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(text()).not.toContain('\x1b[');
    expect(lines[2]).toMatch(/^\[\s*\S+\] alpha: failed \(attempt 1\) - exit code 2$/);
  });
});
