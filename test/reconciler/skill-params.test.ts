import { describe, expect, it } from 'vitest';
import { paramEnv, stepEnvName } from '../../reconciler/env-names.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { validateParams } from '../../reconciler/skill-params.js';
import type { SkillParam } from '../../reconciler/specs.js';

const declared: SkillParam[] = [
  { name: 'who', type: 'string', required: true },
  { name: 'times', type: 'number', required: false, default: 1 },
  { name: 'loud', type: 'boolean', required: false },
  { name: 'window', type: 'duration', required: false },
];

function failure(given: Record<string, unknown>): CaduceusError {
  try {
    validateParams('greet', declared, given);
  } catch (err) {
    if (err instanceof CaduceusError) return err;
    throw err;
  }
  throw new Error('validateParams accepted the params');
}

describe('skill params (one rule for the engine, the proxy and the gateway)', () => {
  it('fills defaults and reads typed-in text as the declared number or boolean', () => {
    expect(validateParams('greet', declared, { who: 'ada', loud: 'true' })).toEqual({
      who: 'ada',
      times: 1,
      loud: true,
    });
    expect(validateParams('greet', declared, { who: 7, times: '3', window: '1h30m' })).toEqual({
      who: '7',
      times: 3,
      window: '1h30m',
    });
  });

  it('refuses a value that is not a scalar, naming the param', () => {
    const err = failure({ who: { nested: true } });
    expect(err.code).toBe('InvalidParam');
    expect(err.field).toBe('params.who');
    expect(err.message).toBe('skill greet: param "who" must be a string, number or boolean');
  });

  it('refuses text that is not the declared type, quoting it', () => {
    expect(failure({ who: 'a', times: 'many' }).message).toBe(
      'skill greet: param "times" must be a number, got "many"',
    );
    expect(failure({ who: 'a', times: 'Infinity' }).field).toBe('params.times');
    expect(failure({ who: 'a', loud: 'yes' }).message).toBe(
      'skill greet: param "loud" must be true or false, got "yes"',
    );
  });

  it('names params and step outputs in the environment with one spelling', () => {
    expect(paramEnv({ 'wait-for': '1h', 'a.b': 2 })).toEqual({ PARAM_WAIT_FOR: '1h', PARAM_A_B: '2' });
    expect(stepEnvName('fetch-page')).toBe('STEP_FETCH_PAGE_OUTPUT');
  });
});
