// The version of the installed caduceus package, read from its package.json: what
// `caduceus --version` prints (answered by cli.ts before the command code is loaded).

import { readFileSync } from 'node:fs';

/** From dist/app/ or dist/bundle/: ../../package.json; from the sources (app/): ../package.json. */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'caduceus' && pkg.version) return pkg.version;
    } catch {
      // not at this level (source checkout vs. dist)
    }
  }
  return 'unknown';
}
