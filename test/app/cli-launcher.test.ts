// The `caduceus` entry point (dist/app/cli.js) runs the build's bundle when it is current,
// and the compiled modules when there is no bundle or a compile came after it; it answers
// --version itself. Checked on a copy of the built launcher beside two stand-ins that say
// which one ran.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp.js';

const ROOT = join(import.meta.dirname, '..', '..');
const LAUNCHER = join(ROOT, 'dist', 'app', 'cli.js');

/** A package layout with the real launcher; `bundle` / `tsbuildinfo`: seconds since the epoch, or absent. */
function layout(times: { bundle?: number; tsbuildinfo?: number }): string {
  const dir = tempDir('caduceus-launcher-');
  mkdirSync(join(dir, 'dist', 'app'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"name":"caduceus","version":"9.8.7","type":"module"}\n');
  copyFileSync(LAUNCHER, join(dir, 'dist', 'app', 'cli.js'));
  copyFileSync(join(ROOT, 'dist', 'app', 'package-version.js'), join(dir, 'dist', 'app', 'package-version.js'));
  writeFileSync(join(dir, 'dist', 'app', 'cli-main.js'), 'console.log("compiled", process.argv.slice(2).join(" "));\n');
  if (times.bundle !== undefined) {
    mkdirSync(join(dir, 'dist', 'bundle'));
    const f = join(dir, 'dist', 'bundle', 'cli-main.js');
    writeFileSync(f, 'console.log("bundle", process.argv.slice(2).join(" "));\n');
    utimesSync(f, times.bundle, times.bundle);
  }
  if (times.tsbuildinfo !== undefined) {
    const f = join(dir, 'dist', '.tsbuildinfo');
    writeFileSync(f, '{}\n');
    utimesSync(f, times.tsbuildinfo, times.tsbuildinfo);
  }
  return dir;
}

function run(dir: string, args = ['validate', '.']): string {
  const r = spawnSync(process.execPath, [join(dir, 'dist', 'app', 'cli.js'), ...args], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout.trim();
}

describe('the caduceus entry point', () => {
  it('is built next to a bundle of cli-main', () => {
    expect(existsSync(LAUNCHER)).toBe(true);
    expect(existsSync(join(ROOT, 'dist', 'bundle', 'cli-main.js'))).toBe(true);
  });

  it('runs the bundle when it is newer than the last compile, or there is no compile record', () => {
    expect(run(layout({ bundle: 2_000_000_000, tsbuildinfo: 1_900_000_000 }))).toBe('bundle validate .');
    expect(run(layout({ bundle: 1_900_000_000 }))).toBe('bundle validate .');
  });

  it('answers --version itself from package.json, without loading either', () => {
    const dir = layout({ bundle: 2_000_000_000 });
    expect(run(dir, ['--version'])).toBe('caduceus 9.8.7');
    expect(run(dir, ['version'])).toBe('caduceus 9.8.7');
  });

  it('runs the compiled modules when a compile came after the bundle, or there is no bundle', () => {
    expect(run(layout({ bundle: 1_900_000_000, tsbuildinfo: 2_000_000_000 }))).toBe('compiled validate .');
    expect(run(layout({ tsbuildinfo: 1_900_000_000 }))).toBe('compiled validate .');
  });
});
