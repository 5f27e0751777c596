// Every secret the process holds is redacted wherever it could surface: resolved secret
// references (also those no controller reads), the git webhook secret, secrets a
// configuration names when `caduceus run` runs it, credentials in URLs and tokens in URL
// query strings — in logs, step output, run history and errors.

import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { redact } from '../../reconciler/secrets.js';
import { register as execution } from '../../controllers/execution/index.js';
import { configDir, doc } from '../helpers/config.js';
import { makeRepo, skillYaml, git } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { appStarter } from '../helpers/app.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'app', 'cli.js');

beforeAll(() => {
  spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  expect(existsSync(CLI)).toBe(true);
}, 180_000);

describe('tokens in URLs', () => {
  it.each([
    ['https://gitlab.example/api/v4/projects?private_token=glpat-abc123XYZ', 'private_token'],
    ['https://api.example/v1/x?page=2&access_token=ya29.a0Af_secret&x=1', 'access_token'],
    ['see http://h:8080/hook?token=t0k3n#frag for details', 'token'],
    ['GET https://maps.example/api?api_key=AIzaSyD-123;client_secret=shh', 'api_key'],
    ['"https://s3.example/b/o?X-Amz-Credential=a&signature=deadbeef"', 'signature'],
  ])('hides the value in %s', (text, name) => {
    const out = redact(text);
    const value = new RegExp(`[?&;]${name}=([^&#\\s"';]+)`, 'i').exec(text)?.[1] as string;
    expect(out).not.toContain(value);
    expect(out).toContain(`${name}=***`);
  });

  it('hides user:password@ in any text, and leaves ordinary key=value text alone', () => {
    expect(redact('clone https://bot:hunter2@git.example/r.git failed')).toBe(
      'clone https://***@git.example/r.git failed',
    );
    expect(redact('retry attempt=2 token_count=5 key=value')).toBe('retry attempt=2 token_count=5 key=value');
  });
});

const start = appStarter({ registrations: [execution] });

describe('in `up`', () => {
  it('redacts the git webhook secret from step output before any webhook arrived', async () => {
    const secret = 'whsec-redaction-test-7f3a';
    process.env.CADUCEUS_WEBHOOK_SECRET = secret;
    try {
      const repo = makeRepo({
        'runtime.yaml': doc('Runtime', 'rt', { execution: { envAllowlist: ['PATH', 'CADUCEUS_WEBHOOK_SECRET'] } }),
        'skills/leak.yaml': skillYaml('leak', 'echo "secret is $CADUCEUS_WEBHOOK_SECRET"'),
      });
      const app = await start({ repo, stateDir: tempDir() });
      await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
      const r = await app.deps.runner.runSkill('leak', {}, { trigger: { source: 'cli' } });
      expect(r.output.trim()).toBe('secret is [REDACTED]');
    } finally {
      delete process.env.CADUCEUS_WEBHOOK_SECRET;
    }
  });
});

describe('in `caduceus run`', () => {
  it('redacts the secrets the configuration names, and URL tokens, from output and run history', () => {
    const token = 'ghp_redaction_test_token_9b1c';
    const dir = configDir({
      'runtime.yaml': doc('Runtime', 'rt', { execution: { envAllowlist: ['PATH', 'FORGE_TOKEN'] } }),
      // Only the Curator names FORGE_TOKEN; no controller reconciles under `caduceus run`.
      'curator.yaml': doc('Curator', 'c', {
        forge: { type: 'github', repo: 'o/r', token: { valueFrom: { env: 'FORGE_TOKEN' } } },
      }),
      'skills/leak.yaml': skillYaml(
        'leak',
        'echo "token $FORGE_TOKEN"; echo "fetching https://api.example/x?access_token=abc123def"; ' +
          'echo "$FORGE_TOKEN" >&2; exit 3',
      ),
    });
    const state = tempDir();
    const env = { ...process.env, FORGE_TOKEN: token, NO_COLOR: '1' };
    const run = spawnSync(process.execPath, [CLI, 'run', 'skill', 'leak', dir, '--state-dir', state, '--json'], {
      env,
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    const all = run.stdout + run.stderr;
    expect(all).toContain('token [REDACTED]');
    expect(all).toContain('access_token=***');
    expect(all).not.toContain(token);
    expect(all).not.toContain('abc123def');
    const runs = spawnSync(process.execPath, [CLI, 'runs', '--state-dir', state, '--json'], { env, encoding: 'utf8' });
    expect(runs.stdout).toContain('leak');
    expect(runs.stdout).not.toContain(token);
    expect(runs.stdout).not.toContain('abc123def');
  });
});
