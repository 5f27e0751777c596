// Live progress of `caduceus run`: on a terminal one line per subtask (state, attempt,
// elapsed time) redrawn in place; otherwise one plain line each time a state changes,
// which is what CI logs and pipes want.

import type { RunProgress } from '../../reconciler/types.js';
import { formatDuration } from '../../reconciler/duration.js';

interface Line {
  state: RunProgress['state'];
  attempt?: number;
  message?: string;
  startedAt?: number;
  endedAt?: number;
}

const FINAL = new Set<RunProgress['state']>(['succeeded', 'failed', 'timedOut', 'cancelled']);
const MARK: Record<RunProgress['state'], string> = {
  queued: '·',
  running: '▶',
  retrying: '↻',
  succeeded: '✓',
  failed: '✗',
  timedOut: '⏱',
  cancelled: '■',
};

export interface ProgressView {
  onProgress(p: RunProgress): void;
  stop(): void;
}

export function progressView(
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  opts: { tty?: boolean } = {},
): ProgressView {
  // Redrawing lines needs a terminal that understands cursor movement (not TERM=dumb).
  const tty = opts.tty ?? (out.isTTY === true && process.env.TERM !== 'dumb');
  const lines = new Map<string, Line>();
  const t0 = Date.now();
  let drawn = 0;

  const render = (name: string, l: Line, width: number): string => {
    const elapsed = l.startedAt === undefined ? '' : formatDuration((l.endedAt ?? Date.now()) - l.startedAt);
    const attempt = l.attempt && l.attempt > 1 ? ` attempt ${l.attempt}` : '';
    const message = l.message ? `  ${l.message.replace(/\s+/g, ' ')}` : '';
    const head = `${MARK[l.state]} ${name.padEnd(width)}  ${l.state.padEnd(9)} ${elapsed.padStart(6)}`;
    const text = `${head}${attempt}${message}`;
    const cols = out.columns || 120;
    return text.length > cols - 1 ? `${text.slice(0, cols - 2)}…` : text;
  };

  const redraw = (): void => {
    const width = Math.max(0, ...[...lines.keys()].map((k) => k.length));
    let s = drawn > 0 ? `\x1b[${drawn}F` : '';
    for (const [name, l] of lines) s += `\x1b[2K${render(name, l, width)}\n`;
    drawn = lines.size;
    out.write(s);
  };
  const timer = tty ? setInterval(redraw, 200) : undefined;
  timer?.unref();

  return {
    onProgress(p) {
      const name = p.subtask ?? '(run)';
      const prev = lines.get(name);
      const l: Line = { ...(prev ?? {}), state: p.state };
      if (p.attempt !== undefined) l.attempt = p.attempt;
      if (p.message !== undefined) l.message = p.message;
      else if (prev?.state !== p.state) delete l.message;
      if (p.state === 'running' && l.startedAt === undefined) l.startedAt = Date.now();
      if (FINAL.has(p.state)) l.endedAt = Date.now();
      lines.set(name, l);
      if (tty) return redraw();
      // Plain mode prints transitions only (a running subtask's step messages included).
      if (prev && prev.state === l.state && prev.attempt === l.attempt && prev.message === l.message) return;
      const attempt = l.attempt ? ` (attempt ${l.attempt})` : '';
      const message = l.message ? ` - ${l.message}` : '';
      out.write(`[${formatDuration(Date.now() - t0).padStart(6)}] ${name}: ${l.state}${attempt}${message}\n`);
    },
    stop() {
      if (timer) clearInterval(timer);
      if (tty && lines.size > 0) redraw();
    },
  };
}
