// What the curator proposes from its signals, called directly: consolidations of similar
// skills (the kept one, conflicts, mutual calls, evidence), prunes and stale marks at their
// thresholds, pinned and referenced skills, closed proposals, the cap and failure flags.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jaccard, shingles } from '../../../controllers/curator/minhash.js';
import {
  DEFAULT_MAX_PROPOSALS,
  MIN_RUNS_FOR_FAILURE_RATE,
  plan,
  proposalId,
  type PlanInput,
} from '../../../controllers/curator/proposals.js';
import type { ProposalRecord, SkillSignal } from '../../../controllers/curator/types.js';
import type { CuratorSpec, SkillSpec } from '../../../reconciler/specs.js';
import type { Resource } from '../../../reconciler/types.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 1, 12);

const DEPLOY: Pick<SkillSpec, 'description' | 'params' | 'steps'> = {
  description: 'Build and deploy the application to the cluster',
  params: [{ name: 'env', type: 'string' }] as SkillSpec['params'],
  steps: [
    { run: 'make build && ./scripts/push-image.sh "$PARAM_ENV"' },
    { run: 'kubectl rollout restart deployment/app --namespace "$PARAM_ENV"' },
    { run: 'kubectl rollout status deployment/app --namespace "$PARAM_ENV" --timeout 300s' },
  ],
};

function distinct(n: number): Pick<SkillSpec, 'description' | 'params' | 'steps'> {
  return {
    description: `Unrelated chore number ${n}`,
    params: [],
    steps: [{ run: `./scripts/chore-${n}.sh --verbose --target t${n}` }],
  };
}

function skillResource(name: string, spec: Partial<SkillSpec>): Resource<'Skill'> {
  return {
    apiVersion: 'caduceus.dev/v1',
    kind: 'Skill',
    metadata: { name },
    spec: { version: '1.0.0', timeout: '10m', aliases: [], ...spec },
    source: { file: `skills/${name}.yaml`, line: 1, column: 1 },
    hash: `h-${name}`,
  } as Resource<'Skill'>;
}

function signal(name: string, over: Partial<SkillSignal> = {}): SkillSignal {
  return {
    name,
    file: `skills/${name}.yaml`,
    hash: `h-${name}`,
    version: '1.0.0',
    pinned: false,
    runs: 0,
    failures: 0,
    failureRate: 0,
    lastUsed: NOW - DAY,
    firstSeen: NOW - 100 * DAY,
    referencedBy: [],
    ...over,
  };
}

function spec(over: Partial<CuratorSpec> = {}, thresholds: Partial<CuratorSpec['thresholds']> = {}): CuratorSpec {
  return {
    schedule: { every: '7d', timezone: 'UTC' },
    actions: ['consolidate', 'prune', 'update'],
    archive: true,
    archiveDir: 'archive',
    forge: { type: 'none' },
    branchPrefix: 'curator',
    labels: ['curator'],
    ...over,
    thresholds: {
      similarity: 0.8,
      pruneAfter: '14d',
      staleAfter: '7d',
      failureRate: 0.5,
      window: '30d',
      ...thresholds,
    },
  };
}

/** Signals and their skills; a skill's spec defaults to one unlike every other. */
function input(
  skills: Array<[SkillSignal, Partial<SkillSpec>?]>,
  curator: CuratorSpec = spec(),
  closed: ProposalRecord[] = [],
): PlanInput {
  const sigs = skills.map(([s]) => s);
  return {
    signals: { skills: sigs, byName: new Map(sigs.map((s) => [s.name, s])), resolve: new Map(), runsInWindow: 0 },
    skills: new Map(skills.map(([s, sp], i) => [s.name, skillResource(s.name, sp ?? distinct(i))])),
    spec: curator,
    now: NOW,
    closed: new Map(closed.map((c) => [c.id, c])),
  };
}

function closedRecord(id: string, prNumber: number | null): ProposalRecord {
  return {
    id,
    curator: 'default',
    action: 'prune',
    skills: [],
    skillHashes: {},
    state: 'closed',
    branch: 'curator/2026-11-20',
    commit: null,
    prNumber,
    prUrl: null,
    title: '',
    evidence: {},
    files: [],
    diff: '',
    position: 0,
    createdAt: 0,
    updatedAt: 0,
  };
}

const used = { lastUsed: NOW - DAY };

describe('proposalId', () => {
  it('is the first 12 hex digits of sha256 over the action and the sorted name/hash pairs', () => {
    const expected = createHash('sha256').update('consolidate').update('\0a\0h1').update('\0b\0h2').digest('hex');
    expect(proposalId('consolidate', { b: 'h2', a: 'h1' })).toBe(expected.slice(0, 12));
    expect(proposalId('consolidate', { a: 'h1', b: 'h2' })).toBe(expected.slice(0, 12));
    expect(proposalId('prune', { a: 'h1', b: 'h2' })).not.toBe(expected.slice(0, 12));
    expect(proposalId('consolidate', { a: 'h1', b: 'h3' })).not.toBe(expected.slice(0, 12));
  });
});

describe('consolidations', () => {
  it('merges identical skills into the most used, with its evidence and title', () => {
    const p = plan(
      input([
        [
          signal('deploy-app', {
            runs: 2,
            lastUsed: Date.UTC(2026, 10, 3),
            referencedBy: ['Proxy/api', 'Task/release'],
          }),
          DEPLOY,
        ],
        [signal('deploy', { runs: 9, lastUsed: null }), DEPLOY],
        [signal('other', used)],
      ]),
    );
    expect(p.proposals).toEqual([
      {
        id: proposalId('consolidate', { deploy: 'h-deploy', 'deploy-app': 'h-deploy-app' }),
        action: 'consolidate',
        skills: ['deploy', 'deploy-app'],
        skillHashes: { deploy: 'h-deploy', 'deploy-app': 'h-deploy-app' },
        title: 'merge skill deploy-app into deploy',
        evidenceLines: [
          'keep deploy: 9 runs in the window, last used never',
          'merge deploy-app: similarity 1.00 (threshold 0.8), 2 runs in the window, last used 2026-11-03',
          'references to deploy-app rewritten in Proxy/api, Task/release',
        ],
        evidence: {
          keep: { name: 'deploy', runs: 9, lastUsed: null },
          merged: [
            {
              name: 'deploy-app',
              similarity: 1,
              runs: 2,
              lastUsed: Date.UTC(2026, 10, 3),
              referencedBy: ['Proxy/api', 'Task/release'],
            },
          ],
        },
        files: [],
      },
    ]);
    expect(p.skipped).toEqual([]);
  });

  it('keeps, among equally used skills, the older one, then the first name', () => {
    const older = plan(
      input([
        [signal('a', { runs: 1, firstSeen: NOW - 50 * DAY }), DEPLOY],
        [signal('b', { runs: 1, firstSeen: NOW - 60 * DAY }), DEPLOY],
      ]),
    );
    expect(older.proposals.map((x) => x.title)).toEqual(['merge skill a into b']);
    const byName = plan(
      input([
        [signal('c', { runs: 1 }), DEPLOY],
        [signal('b', { runs: 1 }), DEPLOY],
        [signal('d', { runs: 1 }), DEPLOY],
      ]),
    );
    expect(byName.proposals.map((x) => [x.title, x.skills])).toEqual([['merge skills c, d into b', ['b', 'c', 'd']]]);
    expect(byName.proposals[0]?.evidenceLines).toEqual([
      `keep b: 1 runs in the window, last used ${new Date(NOW - DAY).toISOString().slice(0, 10)}`,
      'merge c: similarity 1.00 (threshold 0.8), 1 runs in the window, last used 2026-11-30',
      'merge d: similarity 1.00 (threshold 0.8), 1 runs in the window, last used 2026-11-30',
    ]);
  });

  it('merges at the similarity threshold and not below it, with the similarity in the evidence', () => {
    const near = { ...DEPLOY, description: 'Build and deploy the application to the staging cluster' };
    const sim = jaccard(shingles(DEPLOY), shingles(near));
    expect(sim).toBeGreaterThan(0.7);
    expect(sim).toBeLessThan(1);
    const at = (threshold: number) =>
      plan(
        input(
          [
            [signal('a', { runs: 2 }), DEPLOY],
            [signal('b', { runs: 1 }), near],
          ],
          spec({ actions: ['consolidate'] }, { similarity: threshold }),
        ),
      );
    const merged = at(sim);
    expect(merged.proposals.map((x) => x.title)).toEqual(['merge skill b into a']);
    expect(merged.proposals[0]?.evidenceLines[1]).toBe(
      `merge b: similarity ${sim.toFixed(2)} (threshold ${sim}), 1 runs in the window, last used 2026-11-30`,
    );
    expect(merged.proposals[0]?.evidence.merged).toEqual([
      { name: 'b', similarity: Number(sim.toFixed(3)), runs: 1, lastUsed: NOW - DAY, referencedBy: [] },
    ]);
    expect(at(sim + 0.001).proposals).toEqual([]);
  });

  it('leaves pinned skills out of consolidations and unrelated skills alone', () => {
    const p = plan(
      input(
        [[signal('a', { runs: 5, pinned: true }), DEPLOY], [signal('b', used), DEPLOY], [signal('c', used)]],
        spec({ actions: ['consolidate'] }),
      ),
    );
    expect(p).toEqual({ proposals: [], skipped: [], stale: [], flagged: [] });
  });

  it('skips a group whose params disagree in type, naming the param and both skills', () => {
    const other = { ...DEPLOY, params: [{ name: 'env', type: 'number' }] as SkillSpec['params'] };
    const p = plan(
      input(
        [
          [signal('a', { runs: 3 }), DEPLOY],
          [
            signal('b', { runs: 2 }),
            { ...DEPLOY, params: [{ name: 'region', type: 'string' }] as SkillSpec['params'] },
          ],
          [signal('c', { runs: 1 }), other],
        ],
        spec({ actions: ['consolidate'] }, { similarity: 0.5 }),
      ),
    );
    expect(p.proposals).toEqual([]);
    expect(p.skipped).toEqual([
      { action: 'consolidate', skills: ['a', 'b', 'c'], reason: 'param env is string in a but number in c' },
    ]);
    const fromMerged = plan(
      input(
        [
          [signal('a', { runs: 3 }), { ...DEPLOY, params: [] }],
          [signal('b', { runs: 2 }), { ...DEPLOY, params: [{ name: 'env', type: 'string' }] as SkillSpec['params'] }],
          [signal('c', { runs: 1 }), { ...DEPLOY, params: [{ name: 'env', type: 'boolean' }] as SkillSpec['params'] }],
        ],
        spec({ actions: ['consolidate'] }, { similarity: 0.5 }),
      ),
    );
    expect(fromMerged.skipped.map((s) => s.reason)).toEqual(['param env is string in b but boolean in c']);
    // The first skill to declare a param is the one named, not a later one agreeing with it.
    const typed = (type: string) => ({ ...DEPLOY, params: [{ name: 'env', type }] as SkillSpec['params'] });
    const firstNamed = plan(
      input(
        [
          [signal('a', { runs: 4 }), { ...DEPLOY, params: [] }],
          [signal('b', { runs: 3 }), typed('string')],
          [signal('c', { runs: 2 }), typed('string')],
          [signal('d', { runs: 1 }), typed('boolean')],
        ],
        spec({ actions: ['consolidate'] }, { similarity: 0.5 }),
      ),
    );
    expect(firstNamed.skipped.map((s) => s.reason)).toEqual(['param env is string in b but boolean in d']);
  });

  it('merges skills whose params agree or are only on one side', () => {
    const p = plan(
      input(
        [
          [signal('a', { runs: 3 }), { ...DEPLOY, params: undefined } as Partial<SkillSpec>],
          [signal('b', { runs: 2 }), DEPLOY],
          [signal('c', { runs: 1 }), DEPLOY],
          [signal('d', { runs: 0 }), { ...DEPLOY, params: undefined } as Partial<SkillSpec>],
        ],
        spec({ actions: ['consolidate'] }, { similarity: 0.5 }),
      ),
    );
    expect(p.skipped).toEqual([]);
    expect(p.proposals.map((x) => x.skills)).toEqual([['a', 'b', 'c', 'd']]);
  });

  it('skips skills that call each other, in either direction', () => {
    const calls = (keepRefs: string[], mergedRefs: string[]) =>
      plan(
        input(
          [
            [signal('a', { runs: 3, referencedBy: keepRefs }), DEPLOY],
            [signal('b', { runs: 1, referencedBy: mergedRefs }), DEPLOY],
          ],
          spec({ actions: ['consolidate'] }),
        ),
      );
    const skipped = [{ action: 'consolidate', skills: ['a', 'b'], reason: 'a and b call each other' }];
    expect(calls(['Skill/b'], []).skipped).toEqual(skipped);
    expect(calls([], ['Skill/a']).skipped).toEqual(skipped);
    expect(calls(['Task/x'], ['Skill/c']).proposals.map((x) => x.title)).toEqual(['merge skill b into a']);
  });

  it('skips a consolidation reviewers closed, saying where, and may then prune its skills', () => {
    const skills: Array<[SkillSignal, Partial<SkillSpec>]> = [
      [signal('a', { lastUsed: null, firstSeen: NOW - 30 * DAY }), DEPLOY],
      [signal('b', { lastUsed: null, firstSeen: NOW - 40 * DAY }), DEPLOY],
    ];
    const id = proposalId('consolidate', { a: 'h-a', b: 'h-b' });
    const inPr = plan(input(skills, spec({ actions: ['consolidate', 'prune'] }), [closedRecord(id, 12)]));
    expect(inPr.skipped[0]).toEqual({
      action: 'consolidate',
      skills: ['b', 'a'],
      reason: 'closed without merging in PR #12; proposed again only when one of the skills changes',
    });
    // Not merged, so each is considered for pruning on its own.
    expect(inPr.proposals.map((x) => x.title)).toEqual(['archive unused skill b', 'archive unused skill a']);
    const onBranch = plan(input(skills, spec({ actions: ['consolidate'] }), [closedRecord(id, null)]));
    expect(onBranch.skipped.map((s) => s.reason)).toEqual([
      'closed without merging on branch curator/2026-11-20; proposed again only when one of the skills changes',
    ]);
    // Offered: the skills of the proposal are neither pruned nor marked stale.
    const offered = plan(input(skills, spec({ actions: ['consolidate', 'prune'] })));
    expect(offered.proposals.map((x) => x.title)).toEqual(['merge skill a into b']);
    expect(offered.stale).toEqual([]);
    const offeredNoPrune = plan(input(skills, spec({ actions: ['consolidate'] })));
    expect(offeredNoPrune.stale).toEqual([]);
  });
});

describe('prunes and stale marks', () => {
  const idle = (name: string, days: number, over: Partial<SkillSignal> = {}) =>
    signal(name, { lastUsed: NOW - days * DAY, ...over });

  it('marks stale from staleAfter, prunes from pruneAfter, both boundaries included', () => {
    const p = plan(
      input([
        [idle('fresh', 6.9)],
        [idle('stale', 7)],
        [idle('nearly', 13.9)],
        [idle('gone', 14)],
        [idle('older', 20)],
      ]),
    );
    expect(p.proposals.map((x) => x.title)).toEqual(['archive unused skill older', 'archive unused skill gone']);
    expect(p.stale.map((s) => s.name)).toEqual(['nearly', 'stale']);
    expect(p.skipped).toEqual([]);
  });

  it('counts idleness of a skill never run from its first commit; prunes only skills committed pruneAfter ago', () => {
    const p = plan(
      input([
        [signal('never', { lastUsed: null, firstSeen: NOW - 14 * DAY })],
        [signal('new', { lastUsed: null, firstSeen: NOW - 10 * DAY })],
        // Idle long enough, but the file is younger than pruneAfter (its history was rewritten).
        [signal('young', { lastUsed: NOW - 15 * DAY, firstSeen: NOW - 13 * DAY })],
      ]),
    );
    expect(p.proposals.map((x) => x.skills)).toEqual([['never']]);
    expect(p.stale.map((s) => s.name)).toEqual(['young', 'new']);
  });

  it('gives the evidence of a prune, archiving or deleting as the spec says', () => {
    const s = signal('old-report', { lastUsed: Date.UTC(2026, 9, 1), firstSeen: Date.UTC(2026, 5, 2), runs: 0 });
    const archived = plan(input([[s]]));
    expect(archived.proposals).toEqual([
      {
        id: proposalId('prune', { 'old-report': 'h-old-report' }),
        action: 'prune',
        skills: ['old-report'],
        skillHashes: { 'old-report': 'h-old-report' },
        title: 'archive unused skill old-report',
        evidenceLines: [
          'no runs since 2026-10-01 (pruneAfter 14d); first committed 2026-06-02',
          'referenced by no task, skill, proxy or gateway policy; moved to archive/',
        ],
        evidence: { runs: 0, lastUsed: Date.UTC(2026, 9, 1), firstSeen: Date.UTC(2026, 5, 2), pruneAfter: '14d' },
        files: [],
      },
    ]);
    const deleted = plan(input([[s]], spec({ archive: false, archiveDir: 'attic' })));
    expect(deleted.proposals[0]?.title).toBe('remove unused skill old-report');
    expect(deleted.proposals[0]?.evidenceLines[1]).toBe(
      'referenced by no task, skill, proxy or gateway policy; deleted (archive: false)',
    );
    const attic = plan(input([[s]], spec({ archiveDir: 'attic' })));
    expect(attic.proposals[0]?.evidenceLines[1]).toBe(
      'referenced by no task, skill, proxy or gateway policy; moved to attic/',
    );
  });

  it('skips pinned skills and keeps referenced ones as stale, saying why', () => {
    const p = plan(
      input([
        [idle('keepsake', 30, { pinned: true })],
        [idle('used-by', 30, { referencedBy: ['Proxy/api', 'Task/release'] })],
      ]),
    );
    expect(p.proposals).toEqual([]);
    expect(p.skipped).toEqual([
      { action: 'prune', skills: ['keepsake'], reason: 'pinned (caduceus.dev/pinned: "true")' },
      { action: 'prune', skills: ['used-by'], reason: 'referenced by Proxy/api, Task/release' },
    ]);
    expect(p.stale.map((s) => s.name)).toEqual(['used-by']);
  });

  it('proposes the longest idle first, ties by name, and skips what is over maxProposals', () => {
    const skills: Array<[SkillSignal]> = [
      [idle('b', 20)],
      [idle('a', 20)],
      [idle('c', 40)],
      [signal('d', { lastUsed: null, firstSeen: NOW - 30 * DAY })],
    ];
    const all = plan(input(skills));
    expect(all.proposals.map((x) => x.skills[0])).toEqual(['c', 'd', 'a', 'b']);
    const capped = plan(input(skills, spec({ maxProposals: 2 })));
    expect(capped.proposals.map((x) => x.skills[0])).toEqual(['c', 'd']);
    expect(capped.skipped).toEqual(
      ['a', 'b'].map((n) => ({
        action: 'prune',
        skills: [n],
        reason: 'over maxProposals (2) for one run; proposed once earlier ones are reviewed',
      })),
    );
    expect(plan(input(skills, spec({ maxProposals: 4 }))).skipped).toEqual([]);
  });

  it('caps at 50 proposals when the spec does not say', () => {
    expect(DEFAULT_MAX_PROPOSALS).toBe(50);
    const skills = Array.from({ length: 51 }, (_, i): [SkillSignal] => [idle(`s${String(i).padStart(2, '0')}`, 20)]);
    const p = plan(input(skills));
    expect(p.proposals).toHaveLength(50);
    expect(p.skipped.map((s) => [s.skills, s.reason])).toEqual([
      [['s50'], 'over maxProposals (50) for one run; proposed once earlier ones are reviewed'],
    ]);
  });

  it('only marks stale, from staleAfter on, when prune is not an action', () => {
    const p = plan(
      input(
        [[idle('fresh', 6.9)], [idle('stale', 7)], [idle('old', 40)], [signal('never', { lastUsed: null })]],
        spec({ actions: ['update'] }),
      ),
    );
    expect(p.proposals).toEqual([]);
    expect(p.stale.map((s) => s.name)).toEqual(['stale', 'old', 'never']);
  });

  it('proposes no consolidation when consolidate is not an action', () => {
    const twins: Array<[SkillSignal, Partial<SkillSpec>]> = [
      [signal('a', used), DEPLOY],
      [signal('b', used), DEPLOY],
    ];
    expect(plan(input(twins, spec({ actions: ['prune', 'update'] })))).toEqual({
      proposals: [],
      skipped: [],
      stale: [],
      flagged: [],
    });
  });
});

describe('failure flags', () => {
  it('flags a failure rate over the threshold once the skill ran often enough, with update among the actions', () => {
    expect(MIN_RUNS_FOR_FAILURE_RATE).toBe(3);
    const skills: Array<[SkillSignal]> = [
      [signal('flaky', { ...used, runs: 3, failures: 2, failureRate: 2 / 3 })],
      [signal('rare', { ...used, runs: 2, failures: 2, failureRate: 1 })],
      [signal('half', { ...used, runs: 4, failures: 2, failureRate: 0.5 })],
      [signal('fine', { ...used, runs: 10, failures: 0, failureRate: 0 })],
    ];
    expect(plan(input(skills)).flagged.map((s) => s.name)).toEqual(['flaky']);
    expect(plan(input(skills, spec({}, { failureRate: 0.4 }))).flagged.map((s) => s.name)).toEqual(['flaky', 'half']);
    expect(plan(input(skills, spec({ actions: ['consolidate', 'prune'] }))).flagged).toEqual([]);
  });
});
