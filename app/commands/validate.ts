// `caduceus validate [DIR]`: loads a configuration directory the way the reconciler loads a
// revision and prints every finding, for people (text), tools (json) or GitHub Actions
// annotations (github). Exit 0 clean (warnings alone too), 1 errors, 2 usage/unreadable.

import { relative, resolve, sep } from 'node:path';
import { CaduceusError } from '../../reconciler/errors.js';
import type { SourceFile } from '../../reconciler/source-file.js';
import type { Finding } from '../../reconciler/types.js';
import { formatFinding } from '../../reconciler/finding-format.js';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import { escapeControl } from '../../reconciler/cli/escape.js';

const HELP = `usage: caduceus validate [DIR] [--format text|json|github]

Checks every *.yaml/*.yml file under DIR (default: the current directory) against the
resource schemas and across resources (references, duplicates, skill parameters), and
prints each problem as  path:line:col  error  message  (rule).

Skipped: dot-directories (.git, .github), node_modules and the top-level archive/ folder
where the curator keeps pruned skills.

  --format text    one line per finding and a summary (default)
  --format json    a JSON array of {file, line, column, severity, rule, message}
  --format github  ::error annotations for GitHub Actions (paths relative to the current directory)
  --json           same as --format json

Exit status: 0 no errors, 1 errors found, 2 usage error or unreadable directory.`;

const FORMATS = ['text', 'json', 'github'] as const;
type Format = (typeof FORMATS)[number];

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(argv, { format: { type: 'string' }, json: { type: 'boolean' } }, HELP);
    if (!args) return 0;
    const format = (args.values.json ? 'json' : (args.values.format ?? 'text')) as Format;
    if (!FORMATS.includes(format))
      throw new UsageError(`unknown --format "${format}" (text, json or github)\n\n${HELP}`);
    if (args.positionals.length > 1)
      throw new UsageError(`validate takes one directory, got ${args.positionals.length}\n\n${HELP}`);
    const dir = args.positionals[0] ?? '.';

    const { Loader, readConfigDirectory } = await import('../../reconciler/loader.js');
    let files: SourceFile[];
    try {
      files = await readConfigDirectory(dir);
    } catch (err) {
      process.stderr.write(
        `caduceus validate: ${err instanceof CaduceusError ? err.describe() : (err as Error).message}\n`,
      );
      return 2;
    }
    // Only findings are reported: no resource is kept (every file is still parsed, checked
    // against its schema and cross-referenced).
    const { accepted, findings } = await new Loader({}, { keepResources: false }).load(files);
    const errors = findings.filter((f) => f.severity === 'error').length;
    const warnings = findings.length - errors;

    if (format === 'json') {
      writeStructured(
        findings.map(({ file, line, column, severity, rule, message }) => ({
          file,
          line,
          column,
          severity,
          rule,
          message,
        })),
      );
    } else {
      const out = format === 'github' ? findings.map((f) => githubLine(f, dir)) : findings.map(formatFinding);
      const filesWithFindings = new Set(findings.map((f) => f.file)).size;
      out.push(
        findings.length > 0
          ? `${errors} error(s), ${warnings} warning(s) in ${filesWithFindings} file(s)`
          : `ok: ${accepted} resources in ${files.length} files`,
      );
      process.stdout.write(`${out.join('\n')}\n`);
    }
    return errors > 0 ? 1 : 0;
  });
}

/** GitHub workflow command; paths are made relative to the current directory so the annotation lands on the file. */
function githubLine(f: Finding, dir: string): string {
  const rel = relative(process.cwd(), resolve(dir, f.file)).split(sep).join('/');
  const prop = (s: string): string =>
    escapeControl(
      s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/:/g, '%3A').replace(/,/g, '%2C'),
    );
  // GitHub decodes %0A and %0D into line breaks of the annotation; other control characters are shown escaped.
  const data = (s: string): string => escapeControl(s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
  return `::${f.severity} file=${prop(rel)},line=${f.line},col=${f.column}::${data(`${f.message} (${f.rule})`)}`;
}
