// Mutation testing of the security- and correctness-critical core: `npm run mutation`
// (StrykerJS with the vitest runner; slow, so not part of .ci/run). One file at a time:
//   npx stryker run --mutate reconciler/workspace.ts --testFiles test/reconciler/workspace.test.ts --concurrency 1
// Scores per file, with the command that measured them, are in TESTING.md.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'test/vitest.config.ts', related: true },
  coverageAnalysis: 'perTest',
  // Static mutants (module-level constants, evaluated once at import) are left out: with
  // --testFiles the vitest runner starts no test for them, so they showed as "survived"
  // without a single test run. They are reported as Ignored; the tests pin those constants.
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 20000,
  mutate: [
    // Request signing and verification for every platform, and the git webhook.
    'reconciler/signatures.ts',
    'controllers/gateway/platforms/signing.ts',
    'controllers/gateway/platforms/slack.ts',
    'controllers/gateway/platforms/discord.ts',
    'controllers/gateway/platforms/telegram.ts',
    'controllers/gateway/platforms/webhook.ts',
    'app/webhook.ts',
    // Who may do what: gateway policy, proxy keys, the agent's tool permissions.
    'controllers/gateway/policy.ts',
    'controllers/proxy/auth.ts',
    'controllers/agent/tools/toolset.ts',
    // Confinement and secrets.
    'reconciler/workspace.ts',
    'reconciler/secrets.ts',
    // Correctness: params, the planner, the curator's signals and proposals.
    'reconciler/skill-params.ts',
    'reconciler/planner.ts',
    'controllers/curator/signals.ts',
    'controllers/curator/proposals.ts',
  ],
  // The tests that call these files directly; the suites that reach them through a running
  // app would cost minutes per mutant. A run on one file passes its own --testFiles.
  testFiles: [
    'test/controllers/gateway/adapters/*.test.ts',
    'test/controllers/gateway/policy-rules.test.ts',
    'test/controllers/gateway/commands.test.ts',
    'test/controllers/proxy/auth.test.ts',
    'test/controllers/agent/toolset.test.ts',
    'test/reconciler/webhook.test.ts',
    'test/app/git-webhook-verify.test.ts',
    'test/reconciler/workspace.test.ts',
    'test/reconciler/secrets.test.ts',
    'test/reconciler/skill-params.test.ts',
    'test/reconciler/planner.test.ts',
    'test/controllers/curator/signals.test.ts',
    // proposals.ts through plan() itself; proposals.test.ts runs the curator on git repositories.
    'test/controllers/curator/proposals-plan.test.ts',
  ],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
