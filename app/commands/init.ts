// `caduceus init DIR`: scaffolds a configuration repository from the shipped example
// (git init + first commit) so a newcomer can edit, commit and run `caduceus up` at once.
// The new repository carries what editors and CI need outside this checkout: the JSON
// Schemas with a `.vscode/settings.json` for yaml-language-server, and a workflow that
// validates every push through the pinned Caduceus GitHub Action.

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { COMBINED_SCHEMA_FILE, combinedSchemaText } from '../../reconciler/combined-schema.js';
import { SCHEMA_FILES, schemasDir } from '../../reconciler/schema-validators.js';

const HELP = `usage: caduceus init DIR [--branch NAME]

Creates DIR (it must be empty or missing) from the example configuration, runs
'git init' and makes the first commit. The repository gets:
  schemas/                 the JSON Schemas; every YAML file's first line points at them
  .vscode/settings.json    yaml.schemas for yaml-language-server (VS Code, and editors
                           that read the same settings): every document of every file
                           is checked against the schema of its kind
  .github/workflows/validate.yml   runs 'caduceus validate --format github' on each push
Then: cd DIR && caduceus validate && caduceus up .`;

/** The package root (dist/app/commands → ../../..; app/commands → ../..). */
function packageRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['../../..', '../..']) {
    const p = resolve(here, up);
    if (existsSync(join(p, 'examples', 'repo')) && existsSync(join(p, 'package.json'))) return p;
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

/** Every .yaml/.yml file under dir, skipping dot-directories (.github, .vscode). */
function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.name.startsWith('.')
      ? []
      : e.isDirectory()
        ? yamlFiles(join(dir, e.name))
        : /\.ya?ml$/.test(e.name)
          ? [join(dir, e.name)]
          : [],
  );
}

const MODELINE = /^# yaml-language-server: \$schema=\S+/;

/** Copies the schemas in and points each file's modeline at the combined one, relative to the file. */
function installSchemas(dir: string): void {
  const target = join(dir, 'schemas');
  mkdirSync(target, { recursive: true });
  const from = schemasDir();
  for (const f of Object.values(SCHEMA_FILES)) cpSync(join(from, f), join(target, f));
  writeFileSync(join(target, COMBINED_SCHEMA_FILE), combinedSchemaText(from));
  for (const file of yamlFiles(dir)) {
    const rel = relative(dirname(file), join(target, COMBINED_SCHEMA_FILE)).split(sep).join('/');
    const text = readFileSync(file, 'utf8');
    const line = `# yaml-language-server: $schema=${rel}`;
    writeFileSync(file, MODELINE.test(text) ? text.replace(MODELINE, line) : `${line}\n${text}`);
  }
  mkdirSync(join(dir, '.vscode'), { recursive: true });
  const settings = {
    'yaml.schemas': {
      [`./schemas/${COMBINED_SCHEMA_FILE}`]: ['*.yaml', '*.yml', '**/*.yaml', '**/*.yml', '!.github/**'],
    },
    'yaml.schemaStore.enable': false,
  };
  writeFileSync(join(dir, '.vscode', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(argv, { branch: { type: 'string' } }, HELP);
    if (!args) return 0;
    const target = args.positionals[0];
    if (!target) throw new UsageError(`missing DIR\n\n${HELP}`);
    const dir = resolve(target);
    if (existsSync(dir) && readdirSync(dir).length > 0) throw new UsageError(`${target} exists and is not empty`);
    cpSync(join(packageRoot(), 'examples', 'repo'), dir, { recursive: true });
    installSchemas(dir);
    writeFileSync(join(dir, '.gitignore'), '# the state directory of `caduceus up .`\n.caduceus/\n');
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
