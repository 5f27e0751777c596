// Which calls of a run were the model's judgement: those whose arguments use a value read
// in an earlier turn's result. Values of the request, values the model wrote itself and
// echoed back by a tool, and results of the same turn (parallel calls) do not count.

import { describe, expect, it } from 'vitest';
import { judgeRun, mostlyJudgement } from '../../../controllers/agent/run-judgement.js';
import type { AgentToolCall } from '../../../reconciler/agent-contract.js';

let seq = 0;
function call(turn: number, tool: string, args: Record<string, unknown>, result: string): AgentToolCall {
  seq++;
  return {
    seq,
    turn,
    id: `c${seq}`,
    tool,
    arguments: JSON.stringify(args),
    status: 'succeeded',
    durationMs: 1,
    result,
  };
}

describe('judgeRun', () => {
  it('counts calls that use a value an earlier result named, and lists those values', () => {
    const calls = [
      call(1, 'http_get', { url: 'http://t/incidents' }, 'HTTP 200\nopen: INC-4821 on checkout-api-7f9c'),
      call(2, 'http_get', { url: 'http://t/incidents/INC-4821' }, 'HTTP 200\ndeploy rel-7.2'),
      call(
        3,
        'shell',
        { command: 'echo rollback rel-7.2 of checkout-api-7f9c' },
        'rollback rel-7.2 of checkout-api-7f9c',
      ),
    ];
    const j = judgeRun(calls, 'checkout is slow');
    expect(j).toEqual({ steps: 3, judged: 2, values: ['INC-4821', 'checkout-api-7f9c', 'rel-7.2'] });
    expect(mostlyJudgement(j)).toBe(true);
  });

  it('does not count values of the request, the model’s own values echoed back, or results of the same turn', () => {
    const calls = [
      call(1, 'write_file', { path: 'report/input.txt', content: 'a' }, 'wrote 1 byte to report/input.txt'),
      call(1, 'list_files', { path: 'report' }, 'input.txt'),
      // Same turn as the listing: it could not have read it.
      call(1, 'read_file', { path: 'report/input.txt' }, 'a'),
      call(2, 'read_file', { path: 'report/input.txt' }, 'a'),
      call(2, 'shell', { command: 'du -s /srv/data-7' }, '12 /srv/data-7'),
      call(3, 'shell', { command: 'ls /srv/data-7' }, ''),
    ];
    const j = judgeRun(calls, 'How big is /srv/data-7?');
    expect(j).toEqual({ steps: 6, judged: 0, values: [] });
    expect(mostlyJudgement(j)).toBe(false);
  });
});
