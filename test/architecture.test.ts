// The layers, checked: app → controllers → reconciler, never back, and controllers never
// import each other (they meet through the late-bound runner). Every static and dynamic
// relative import of every source file is resolved and judged.

import { type Dirent, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_MODULES } from '../app/compose.js';
import { CONTROLLER_COMMANDS } from '../app/controller-commands.js';
import { tempDir } from './helpers/temp.js';

const ROOT = join(import.meta.dirname, '..');
const LAYERS = ['app', 'reconciler', 'controllers'] as const;
/** Every folder of TypeScript the line-length rule covers. */
const TS_FOLDERS = ['app', 'reconciler', 'controllers', 'test', 'bench'] as const;
const MAX_LINE = 120;

interface Violation {
  file: string;
  imports: string;
  rule: string;
}

function sourceFiles(root: string, dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const rel = posix.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(root, rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** `controllers/proxy/x.ts` → { layer: 'controllers', folder: 'proxy' }. */
function place(file: string): { layer: string; folder: string | undefined } {
  const [layer, folder] = file.split('/');
  return { layer: layer ?? '', folder: layer === 'controllers' ? folder : undefined };
}

function checkImports(root: string): Violation[] {
  const out: Violation[] = [];
  const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g;
  for (const file of LAYERS.flatMap((l) => sourceFiles(root, l))) {
    const text = readFileSync(join(root, file), 'utf8');
    const from = place(file);
    for (const m of text.matchAll(spec)) {
      const target = relative(root, join(root, dirname(file), m[1] as string))
        .split(sep)
        .join('/');
      const to = place(target);
      let rule: string | undefined;
      if (from.layer === 'reconciler' && (to.layer === 'controllers' || to.layer === 'app'))
        rule = `reconciler/ must not import ${to.layer}/`;
      else if (file.startsWith('reconciler/source/') && target === 'reconciler/loader.js')
        rule = 'the git source must not import its consumer, the loader (shared types: reconciler/source-file.ts)';
      else if (from.layer === 'controllers' && to.layer === 'app') rule = 'controllers/ must not import app/';
      else if (from.layer === 'controllers' && to.layer === 'controllers' && to.folder !== from.folder) {
        rule = `controllers/${from.folder} must not import controllers/${to.folder} (use the runner)`;
      } else if (from.layer === 'controllers' && target === 'reconciler/state/core-store.js') {
        rule = "controllers/ must not open the loop's tables (use ctx and ControllerDeps.events)";
      }
      if (rule) out.push({ file, imports: target, rule });
    }
  }
  return out;
}

describe('import directions', () => {
  it('has no import from the core into controllers or the shell, and none between controllers', () => {
    expect(sourceFiles(ROOT, 'reconciler').length).toBeGreaterThan(20);
    expect(sourceFiles(ROOT, 'controllers').length).toBeGreaterThan(50);
    expect(checkImports(ROOT)).toEqual([]);
  });

  it('names every wrong arrow: core to controller or shell; controller to shell, controller or loop tables', () => {
    const root = tempDir('caduceus-layers-');
    const write = (file: string, text: string): void => {
      mkdirSync(join(root, dirname(file)), { recursive: true });
      writeFileSync(join(root, file), text);
    };
    write(
      'reconciler/loop.ts',
      "import { x } from '../controllers/proxy/index.js';\nconst y = await import('../app/cli.js');\n",
    );
    write('controllers/proxy/a.ts', "import type { T } from '../gateway/policy.js';\nimport { z } from './b.js';\n");
    write('controllers/proxy/b.ts', "export { w } from '../../app/compose.js';\nimport '../../reconciler/types.js';\n");
    write('controllers/proxy/c.ts', "import { CoreStore } from '../../reconciler/state/core-store.js';\n");
    write(
      'app/cli.ts',
      "import { p } from '../controllers/proxy/index.js';\nimport { r } from '../reconciler/types.js';\n",
    );
    expect(checkImports(root).sort((a, b) => (a.file + a.imports).localeCompare(b.file + b.imports))).toEqual([
      {
        file: 'controllers/proxy/a.ts',
        imports: 'controllers/gateway/policy.js',
        rule: 'controllers/proxy must not import controllers/gateway (use the runner)',
      },
      { file: 'controllers/proxy/b.ts', imports: 'app/compose.js', rule: 'controllers/ must not import app/' },
      {
        file: 'controllers/proxy/c.ts',
        imports: 'reconciler/state/core-store.js',
        rule: "controllers/ must not open the loop's tables (use ctx and ControllerDeps.events)",
      },
      { file: 'reconciler/loop.ts', imports: 'app/cli.js', rule: 'reconciler/ must not import app/' },
      {
        file: 'reconciler/loop.ts',
        imports: 'controllers/proxy/index.js',
        rule: 'reconciler/ must not import controllers/',
      },
    ]);
  });
});

/** `file:line (length)` of every line longer than MAX_LINE characters. */
function longLines(root: string): string[] {
  const out: string[] = [];
  for (const file of TS_FOLDERS.flatMap((d) => sourceFiles(root, d))) {
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.length > MAX_LINE) out.push(`${file}:${i + 1} (${line.length})`);
      });
  }
  return out;
}

describe('line length', () => {
  it(`keeps every line of app, reconciler, controllers, test and bench within ${MAX_LINE} characters`, () => {
    expect(sourceFiles(ROOT, 'test').length).toBeGreaterThan(50);
    expect(longLines(ROOT)).toEqual([]);
  });

  it('names the file and line of a line that is too long, and only that one', () => {
    const root = tempDir('caduceus-layers-');
    mkdirSync(join(root, 'bench'), { recursive: true });
    mkdirSync(join(root, 'test/deep'), { recursive: true });
    writeFileSync(join(root, 'bench/ok.ts'), `${'x'.repeat(MAX_LINE)}\n`);
    writeFileSync(join(root, 'test/deep/long.ts'), `// fine\nconst s = '${'y'.repeat(MAX_LINE)}';\n`);
    writeFileSync(join(root, 'test/deep/notes.md'), `${'z'.repeat(MAX_LINE * 2)}\n`);
    expect(longLines(root)).toEqual([`test/deep/long.ts:2 (${MAX_LINE + 13})`]);
  });
});

describe('the git source', () => {
  it('does not import the loader that consumes it', () => {
    const root = tempDir('caduceus-layers-');
    mkdirSync(join(root, 'reconciler/source'), { recursive: true });
    writeFileSync(join(root, 'reconciler/source/a.ts'), "import type { SourceFile } from '../loader.js';\n");
    writeFileSync(join(root, 'reconciler/source/b.ts'), "import type { SourceFile } from '../source-file.js';\n");
    expect(checkImports(root)).toEqual([
      {
        file: 'reconciler/source/a.ts',
        imports: 'reconciler/loader.js',
        rule: 'the git source must not import its consumer, the loader (shared types: reconciler/source-file.ts)',
      },
    ]);
  });
});

describe('controller modules', () => {
  it('lists each controller folder once, and the CLI knows exactly their subcommands', () => {
    const folders = readdirSync(join(ROOT, 'controllers'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(ALL_MODULES.map((m) => m.name).sort()).toEqual(folders.sort());
    expect(CONTROLLER_COMMANDS.map((c) => c.name)).toEqual(ALL_MODULES.flatMap((m) => m.commands.map((c) => c.name)));
    expect(CONTROLLER_COMMANDS.map((c) => c.name)).toEqual(['sandbox', 'proxy', 'gateway', 'curator']);
  });

  it('claims every kind exactly once', () => {
    expect(ALL_MODULES.flatMap((m) => m.kinds).sort()).toEqual([
      'Curator',
      'GatewayPolicy',
      'Proxy',
      'Runtime',
      'Skill',
      'Task',
      'ToolServer',
    ]);
  });
});
