// The layers, checked: app → controllers → reconciler, never back, and controllers never
// import each other (they meet through the late-bound runner). Every static and dynamic
// relative import of every source file is resolved and judged.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_MODULES } from '../app/compose.js';
import { CONTROLLER_COMMANDS } from '../app/controller-commands.js';

const ROOT = join(import.meta.dirname, '..');
const LAYERS = ['app', 'reconciler', 'controllers'] as const;

interface Violation {
  file: string;
  imports: string;
  rule: string;
}

function sourceFiles(root: string, dir: string): string[] {
  let entries;
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
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('has no import from the core into controllers or the shell, and none between controllers', () => {
    expect(sourceFiles(ROOT, 'reconciler').length).toBeGreaterThan(20);
    expect(sourceFiles(ROOT, 'controllers').length).toBeGreaterThan(50);
    expect(checkImports(ROOT)).toEqual([]);
  });

  it('names every wrong arrow: core to controller or shell; controller to shell, controller or loop tables', () => {
    const root = mkdtempSync(join(tmpdir(), 'caduceus-layers-'));
    dirs.push(root);
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
    ]);
  });
});
