import { describe, expect, it } from 'vitest';
import { paramEnv, stepEnvName } from '../../reconciler/env-names.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { paramValueProblem, validateParams } from '../../reconciler/skill-params.js';
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

describe('paramValueProblem (YAML values, typed, no coercion)', () => {
  const p = (type: SkillParam['type'], values?: string[]): SkillParam => ({ name: 'x', type, required: false, values });

  it('accepts exactly the declared type', () => {
    expect(paramValueProblem(p('string'), '')).toBeUndefined();
    expect(paramValueProblem(p('number'), -2.5)).toBeUndefined();
    expect(paramValueProblem(p('boolean'), false)).toBeUndefined();
    expect(paramValueProblem(p('duration'), '1h30m')).toBeUndefined();
    expect(paramValueProblem(p('enum', ['fast', 'slow']), 'slow')).toBeUndefined();
  });

  it('names what the value should be and quotes what it is', () => {
    expect(paramValueProblem(p('string'), 3)).toBe('must be a string, got 3');
    expect(paramValueProblem(p('number'), '3')).toBe('must be a number, got "3"');
    expect(paramValueProblem(p('number'), Number.NaN)).toBe('must be a number, got null');
    expect(paramValueProblem(p('number'), Number.POSITIVE_INFINITY)).toBe('must be a number, got null');
    expect(paramValueProblem(p('boolean'), 'true')).toBe('must be true or false, got "true"');
    expect(paramValueProblem(p('duration'), '30')).toBe('must be a duration such as 30s, 5m or 72h, got "30"');
    expect(paramValueProblem(p('duration'), 30)).toBe('must be a duration such as 30s, 5m or 72h, got 30');
    expect(paramValueProblem(p('duration'), ['30s'])).toBe('must be a duration such as 30s, 5m or 72h, got ["30s"]');
    expect(paramValueProblem(p('duration'), 'in 30s')).toBe('must be a duration such as 30s, 5m or 72h, got "in 30s"');
    expect(paramValueProblem(p('enum', ['fast', 'slow']), 'medium')).toBe('must be one of fast, slow, got "medium"');
    expect(paramValueProblem(p('enum', ['fast']), 1)).toBe('must be one of fast, got 1');
    expect(paramValueProblem(p('enum'), 'any')).toBe('must be one of , got "any"');
  });
});

describe('validateParams', () => {
  const typed: SkillParam[] = [
    { name: 'n', type: 'number', required: false },
    { name: 'flag', type: 'boolean', required: false },
    { name: 'mode', type: 'enum', required: false, values: ['1', 'fast'] },
    { name: 's', type: 'string', required: false },
  ];
  const run = (given: Record<string, unknown>, declaredHere: SkillParam[] = typed) =>
    validateParams('tool', declaredHere, given);
  const error = (given: Record<string, unknown>, declaredHere: SkillParam[] = typed): CaduceusError => {
    try {
      run(given, declaredHere);
    } catch (e) {
      if (e instanceof CaduceusError) return e;
      throw e;
    }
    throw new Error('validateParams accepted the params');
  };

  it('reads typed-in "false", " 3 " and scalars as the declared type, and leaves out unset optional params', () => {
    expect(run({ flag: 'false', n: ' 3 ' })).toEqual({ flag: false, n: 3 });
    expect(run({ flag: true, n: 0, mode: 1, s: false })).toEqual({ flag: true, n: 0, mode: '1', s: 'false' });
    expect(run({})).toEqual({});
  });

  it('does not read empty or blank text as zero, nor other spellings as booleans', () => {
    expect(error({ n: '' }).message).toBe('skill tool: param "n" must be a number, got ""');
    expect(error({ n: '  ' }).message).toBe('skill tool: param "n" must be a number, got "  "');
    expect(error({ flag: 'False' }).message).toBe('skill tool: param "flag" must be true or false, got "False"');
    expect(error({ flag: 1 }).message).toBe('skill tool: param "flag" must be true or false, got 1');
    expect(error({ mode: 'slow' }).field).toBe('params.mode');
  });

  it('refuses lists, objects and null whatever the declared type', () => {
    expect(error({ n: [1] }).message).toBe('skill tool: param "n" must be a string, number or boolean');
    expect(error({ s: null }).message).toBe('skill tool: param "s" must be a string, number or boolean');
    expect(error({ flag: { a: 1 } }).code).toBe('InvalidParam');
  });

  it('names the declared params when one is unknown, or says there are none', () => {
    const e = error({ nn: 1 });
    expect(e.code).toBe('UnknownParam');
    expect(e.field).toBe('params.nn');
    expect(e.message).toBe('skill tool has no param "nn" (declared: n, flag, mode, s)');
    expect(error({ a: 1 }, []).message).toBe('skill tool has no param "a" (declared: none)');
  });

  it('says how to pass a missing required param and what type it takes', () => {
    const required: SkillParam[] = [
      { name: 'level', type: 'enum', required: true, values: ['low', 'high'] },
      { name: 'count', type: 'number', required: true },
    ];
    const e = error({}, required);
    expect(e.code).toBe('MissingParam');
    expect(e.field).toBe('params.level');
    expect(e.message).toBe('skill tool needs param "level" (one of low, high)');
    expect(e.hint).toBe('pass it, e.g. -p level=…');
    expect(error({ level: 'low' }, required).message).toBe('skill tool needs param "count" (number)');
  });

  it('checks defaults like given values and prefers a given value over the default', () => {
    const withDefault: SkillParam[] = [{ name: 'n', type: 'number', required: true, default: 2 }];
    expect(run({}, withDefault)).toEqual({ n: 2 });
    expect(run({ n: '5' }, withDefault)).toEqual({ n: 5 });
    const badDefault: SkillParam[] = [
      { name: 'n', type: 'number', required: false, default: 'x' as unknown as number },
    ];
    expect(error({}, badDefault).message).toBe('skill tool: param "n" must be a number, got "x"');
  });
});
