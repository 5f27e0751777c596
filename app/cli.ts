#!/usr/bin/env node
// Entry point of the `caduceus` command. It runs cli-main.ts from the build's bundle
// (dist/bundle/, made by esbuild in `npm run build`): `up` then loads ~45 files instead of
// ~160 modules one by one, about 80 ms less before /readyz. The compiled modules run instead
// when there is no bundle or it is older than the last compile (a `tsc` run alone).

import { statSync } from 'node:fs';
import { packageVersion } from './package-version.js';

function mtimeOf(rel: string): number | undefined {
  try {
    return statSync(new URL(rel, import.meta.url)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The bundle is current when it was made after the last compile (an installed package has no .tsbuildinfo). */
function bundleIsCurrent(): boolean {
  const bundled = mtimeOf('../bundle/cli-main.js');
  if (bundled === undefined) return false;
  const compiled = mtimeOf('../.tsbuildinfo');
  return compiled === undefined || bundled >= compiled;
}

const first = process.argv[2];
if (first === '--version' || first === 'version') {
  // Answered here: the command code (a few more files) is not needed for it.
  process.stdout.write(`caduceus ${packageVersion()}\n`);
} else {
  await import(bundleIsCurrent() ? '../bundle/cli-main.js' : './cli-main.js');
}
