// The chat command grammar: what people type, as the gateway understands it.

import { describe, expect, it } from 'vitest';
import { describeCommand, parseCommand, tokenize } from '../../../controllers/gateway/commands.js';

describe('gateway command parser', () => {
  it('reads run task, run skill with typed-in parameters, status and help', () => {
    expect(parseCommand('run task build')).toEqual({ ok: true, command: { verb: 'run-task', name: 'build' } });
    expect(parseCommand('run skill greet who="Ada Lovelace" n=3')).toEqual({
      ok: true,
      command: { verb: 'run-skill', name: 'greet', params: { who: 'Ada Lovelace', n: '3' } },
    });
    expect(parseCommand('  STATUS ')).toEqual({ ok: true, command: { verb: 'status' } });
    expect(parseCommand('help')).toEqual({ ok: true, command: { verb: 'help' } });
  });

  it('accepts Telegram /commands with a bot suffix and a leading root command name', () => {
    expect(parseCommand('/run@CaduceusBot task build')).toEqual({
      ok: true,
      command: { verb: 'run-task', name: 'build' },
    });
    expect(parseCommand('caduceus status')).toEqual({ ok: true, command: { verb: 'status' } });
    expect(parseCommand('/help')).toEqual({ ok: true, command: { verb: 'help' } });
  });

  it('refuses anything else with the usage', () => {
    for (const bad of [
      '',
      'deploy prod',
      'run',
      'run task',
      'run thing x',
      'run task a b',
      'run skill s novalue',
      'run skill s =x',
      'run skill s a=1 a=2',
      'run task "unterminated',
      'run task ../etc',
      'status now',
    ]) {
      const r = parseCommand(bad);
      expect(r.ok, bad).toBe(false);
    }
    expect(parseCommand('x'.repeat(1001))).toEqual({ ok: false, error: 'command longer than 1000 characters' });
    expect(parseCommand('frobnicate')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/unknown command "frobnicate"; commands: `run task NAME`/),
    });
  });

  it('does not let a parameter named like an object property slip through', () => {
    const r = parseCommand('run skill s __proto__=x constructor=y');
    expect(r.ok && r.command.verb === 'run-skill').toBe(true);
    if (r.ok && r.command.verb === 'run-skill') {
      expect(Object.keys(r.command.params)).toEqual(['__proto__', 'constructor']);
      expect(Object.getPrototypeOf(r.command.params)).toBe(Object.prototype);
      expect(r.command.params.constructor).toBe('y');
    }
  });

  it('tokenizes quotes and describes commands back on one line', () => {
    expect(tokenize(`a "b c" 'd e' f`)).toEqual(['a', 'b c', 'd e', 'f']);
    expect(tokenize('"')).toBeUndefined();
    expect(describeCommand({ verb: 'run-skill', name: 'greet', params: { who: 'Ada Lovelace', n: '3' } })).toBe(
      'run skill greet who="Ada Lovelace" n=3',
    );
  });
});
