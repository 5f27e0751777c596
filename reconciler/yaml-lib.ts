// The `yaml` library, loaded on first use: it is about 70 CommonJS modules, which `up`
// and `validate` of a plain repository never need (the fast reader in yaml-fast-path.ts
// handles those), so nothing imports it at the top of a module on their paths.

import { createRequire } from 'node:module';

type YamlLib = typeof import('yaml');
let lib: YamlLib | undefined;

/** The `yaml` module, required on the first call. */
export function yamlLib(): YamlLib {
  lib ??= createRequire(import.meta.url)('yaml') as YamlLib;
  return lib;
}
