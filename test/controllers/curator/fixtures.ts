// A realistic configuration repository for curator tests: a bare remote plus a working
// clone, files committed 60 days ago (so skills are old enough to prune), and run history
// inserted through RunStore into a real SQLite state file.

import { commitAll, git, makeRemote, writeFiles } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { StateStore } from '../../../reconciler/state/store.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import { silentLogger } from '../../../reconciler/log.js';
import type { CuratorEnv } from '../../../controllers/curator/run.js';

export const DAY = 86_400_000;

export const FILES: Record<string, string> = {
  'config/skills/deploy.yaml': `# Deploys the app. Owned by the platform team.
apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: deploy
spec:
  version: "1.2.0"
  description: Build and deploy the application to the cluster
  params:
    - name: env
      type: string
      default: staging
  steps:
    # build first
    - run: make build && ./scripts/push-image.sh "$PARAM_ENV"
    - run: kubectl rollout restart deployment/app --namespace "$PARAM_ENV"
    - run: kubectl rollout status deployment/app --namespace "$PARAM_ENV" --timeout 300s
`,
  'config/skills/deploy-app.yaml': `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: deploy-app   # an older copy of deploy
spec:
  version: "1.0.0"
  description: Build and deploy the application to the cluster
  params:
    - name: env
      type: string
      default: staging
    - name: region
      type: string
      required: true
  steps:
    - run: make build && ./scripts/push-image.sh "$PARAM_ENV"
    - run: kubectl rollout restart deployment/app --namespace "$PARAM_ENV"
    - run: kubectl rollout status deployment/app --namespace "$PARAM_ENV" --timeout 300s
`,
  'config/skills/old-report.yaml': `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: old-report
spec:
  version: "0.1.0"
  description: Weekly report nobody reads any more
  steps:
    - run: ./scripts/weekly-report.sh > report.txt
`,
  'config/skills/keepsake.yaml': `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: keepsake
  labels:
    caduceus.dev/pinned: "true"
spec:
  version: "1.0.0"
  description: Disaster recovery drill, rarely run on purpose
  steps:
    - run: ./scripts/dr-drill.sh
`,
  'config/skills/rotate-keys.yaml': `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: rotate-keys
spec:
  version: "1.0.0"
  description: Rotate the API keys of the staging services
  steps:
    - run: ./scripts/rotate.sh staging
`,
  'config/tasks/release.yaml': `# Release train
apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: release
spec:
  description: Ship it
  subtasks:
    - name: ship   # the main step
      skill: deploy-app
      params:
        region: eu-west-1
    - name: keys
      skill: rotate-keys
`,
  'config/gateway.yaml': `apiVersion: caduceus.dev/v1
kind: GatewayPolicy
metadata:
  name: chat
spec:
  roles:
    - name: ops
      users: ["discord:1234"]
      permissions:
        skills: [deploy, deploy-app]   # both names, for now
        tasks:
          - release
    - name: devs
      users: ["discord:99"]
      permissions:
        skills:
          - deploy-app
`,
  'README.md': '# config\n',
};

export interface Fixture {
  bare: string;
  work: string;
  stateDir: string;
  store: StateStore;
  runs: RunStore;
  env: CuratorEnv;
  /** sha of main on the remote. */
  mainSha(): string;
  /** All refs on the remote, `sha ref` lines. */
  remoteRefs(): string;
  /** Commits a change on main in the working clone and pushes it. */
  pushMain(files: Record<string, string>, message: string, daysAgo?: number): void;
}

export function makeFixture(files: Record<string, string> = FILES, opts: { path?: string } = {}): Fixture {
  const { bare, clone: work } = makeRemote(files, { message: 'initial configuration', at: Date.now() - 60 * DAY });
  const stateDir = tempDir('caduceus-curator-state-');
  const store = new StateStore({ stateDir });
  const runs = new RunStore(store);
  const env: CuratorEnv = {
    store,
    log: silentLogger,
    stateDir,
    source: { repo: bare, path: opts.path ?? 'config', branch: 'main' },
  };
  return {
    bare,
    work,
    stateDir,
    store,
    runs,
    env,
    mainSha: () => git(bare, 'rev-parse', 'refs/heads/main'),
    remoteRefs: () => git(bare, 'for-each-ref', '--format=%(objectname) %(refname)'),
    pushMain(f, message, daysAgo = 0) {
      git(work, 'pull', '-q', '--ff-only', 'origin', 'main');
      writeFiles(work, f);
      commitAll(work, message, Date.now() - daysAgo * DAY);
      git(work, 'push', '-q', 'origin', 'main');
    },
  };
}

/** Inserts finished skill runs: `count` runs of `name`, the newest `newestDaysAgo` days ago. */
export function addRuns(runs: RunStore, name: string, count: number, newestDaysAgo: number, failures = 0): void {
  for (let i = 0; i < count; i++) {
    const id = runs.start({
      kind: 'skill',
      name,
      trigger: 'cli',
      startedAt: Date.now() - newestDaysAgo * DAY - i * 60_000,
    });
    runs.finish(id, { status: i < failures ? 'failed' : 'succeeded', durationMs: 100 });
  }
}

/** The usual history: deploy is busy, deploy-app barely used, old-report last ran 40 days ago. */
export function usualRuns(runs: RunStore): void {
  addRuns(runs, 'deploy', 20, 1);
  addRuns(runs, 'deploy-app', 2, 3);
  addRuns(runs, 'old-report', 1, 40);
}
