// `caduceus init DIR`: scaffolds a configuration repository from the shipped example
// (git init + first commit) so a newcomer can edit, commit and run `caduceus up` at once.

import { cpSync, existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';

const HELP = `usage: caduceus init DIR

Creates DIR (it must be empty or missing) from the example configuration, runs
'git init' and makes the first commit. Then: cd DIR && caduceus up .`;

/** examples/repo of the installed package (dist/reconciler/commands → package root). */
function exampleDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['../../..', '../..']) {
    const p = resolve(here, up, 'examples', 'repo');
    if (existsSync(p)) return p;
  }
  throw new Error('examples/repo not found next to the caduceus package');
}

function git(cwd: string, args: string[]): void {
  execFileSync('git', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function hasIdentity(cwd: string): boolean {
  try {
    execFileSync('git', ['config', 'user.email'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    return true;
  } catch {
    return false;
  }
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(argv, { branch: { type: 'string' } }, HELP);
    if (!args) return 0;
    const target = args.positionals[0];
    if (!target) throw new UsageError(`missing DIR\n\n${HELP}`);
    const dir = resolve(target);
    if (existsSync(dir) && readdirSync(dir).length > 0) throw new UsageError(`${target} exists and is not empty`);
    cpSync(exampleDir(), dir, { recursive: true });
    git(dir, ['init', '-q', '-b', args.values.branch ?? 'main']);
    git(dir, ['add', '-A']);
    // Without a configured identity the first commit is made as Caduceus; later ones are the user's.
    const identity = hasIdentity(dir) ? [] : ['-c', 'user.name=Caduceus', '-c', 'user.email=caduceus@localhost'];
    git(dir, [...identity, 'commit', '-q', '-m', 'Initial configuration from caduceus init']);
    process.stdout.write(
      `Created ${join(target)} with the example configuration and a first commit.\n` +
        `Next: cd ${target} && caduceus validate && caduceus up .\n`,
    );
    return 0;
  });
}
