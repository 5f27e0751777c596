// Editor validation with the real yaml-language-server (1.x, over stdio, as VS Code and
// other editors run it): the example is clean; a repository made by `caduceus init` is
// clean with the settings init writes, and broken files, including an error in the second
// document of a multi-document file, get diagnostics at the right line and column.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LspClient, type Diagnostic } from '../helpers/lsp.js';
import { tempDir } from '../helpers/temp.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SERVER = join(ROOT, 'node_modules', 'yaml-language-server', 'bin', 'yaml-language-server');
const CLI = join(ROOT, 'dist', 'app', 'cli.js');
const NO_STORE = { validate: true, schemaStore: { enable: false } };

function yamlFiles(dir: string, withDot = false): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.name.startsWith('.') && !withDot
      ? []
      : e.isDirectory()
        ? e.name === '.git'
          ? []
          : yamlFiles(join(dir, e.name), withDot)
        : /\.ya?ml$/.test(e.name)
          ? [join(dir, e.name)]
          : [],
  );
}

async function server(root: string, yaml: Record<string, unknown>): Promise<LspClient> {
  const c = new LspClient(process.execPath, [SERVER, '--stdio'], { yaml });
  clients.push(c);
  await c.initialize(root);
  return c;
}

const clients: LspClient[] = [];
let repo: string;
beforeAll(() => {
  repo = join(tempDir('caduceus-init-'), 'config');
  execFileSync(process.execPath, [CLI, 'init', repo], { stdio: 'ignore' });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  rmSync(join(repo, '..'), { recursive: true, force: true });
});

/** yaml-language-server's 0-based positions as 1-based line:column, with the message. */
const at = (d: Diagnostic): string => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`;

describe('yaml-language-server', () => {
  it('reports nothing on any file of examples/repo (modelines only, no editor settings)', async () => {
    const c = await server(ROOT, NO_STORE);
    const files = yamlFiles(join(ROOT, 'examples', 'repo'));
    expect(files.length).toBeGreaterThanOrEqual(11);
    for (const f of files) expect(await c.open(f, readFileSync(f, 'utf8')), f).toEqual([]);
  });

  it('reports nothing on a repository made by caduceus init, with the settings it writes', async () => {
    const settings = JSON.parse(readFileSync(join(repo, '.vscode', 'settings.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const c = await server(repo, { ...NO_STORE, schemas: settings['yaml.schemas'] });
    // The workflow under .github is left to GitHub's own schema, not checked as a Caduceus resource.
    const files = yamlFiles(repo, true);
    expect(files.some((f) => f.includes('.github'))).toBe(true);
    for (const f of files) expect(await c.open(f, readFileSync(f, 'utf8')), f).toEqual([]);
  });

  it('puts each error of a broken file at its line and column, in the first and the second document', async () => {
    const settings = JSON.parse(readFileSync(join(repo, '.vscode', 'settings.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const c = await server(repo, { ...NO_STORE, schemas: settings['yaml.schemas'] });
    const file = join(repo, 'skills', 'two.yaml');
    const text = [
      '# yaml-language-server: $schema=../schemas/caduceus.schema.json',
      'apiVersion: caduceus.dev/v1',
      'kind: Skill',
      'metadata:',
      '  name: first',
      'spec:',
      '  version: "1.0.0"',
      '  description: The first document.',
      '  timeout: soon',
      '  steps:',
      '    - run: echo one',
      '---',
      'apiVersion: caduceus.dev/v1',
      'kind: Task',
      'metadata:',
      '  name: second',
      'spec:',
      '  concurrency: 2',
      '  colour: red',
      '  subtasks:',
      '    - name: one',
      '      skill: first',
      '',
    ].join('\n');
    writeFileSync(file, text);
    const diagnostics = (await c.open(file, text)).map(at);
    expect(diagnostics).toEqual([
      expect.stringMatching(/^9:12 String does not match the pattern/),
      expect.stringMatching(/^19:3 Property colour is not allowed/),
    ]);
  });

  it('checks the schema of the kind each document names, whatever the file is called', async () => {
    const settings = JSON.parse(readFileSync(join(repo, '.vscode', 'settings.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const c = await server(repo, { ...NO_STORE, schemas: settings['yaml.schemas'] });
    const file = join(repo, 'mixed.yml');
    const text = [
      'apiVersion: caduceus.dev/v1',
      'kind: Proxy',
      'metadata:',
      '  name: edge',
      'spec:',
      '  port: 70000',
      '  keys: [{valueFrom: {env: KEY}}]',
      '---',
      'apiVersion: caduceus.dev/v1',
      'kind: GatewayPolicy',
      'metadata:',
      '  name: chat',
      'spec:',
      '  platforms:',
      '    discord:',
      '      applicationId: "1"',
      '      publicKey: {valueFrom: {env: K}}',
      '      channels: [engineering-ops]',
      '',
    ].join('\n');
    const diagnostics = (await c.open(file, text)).map(at);
    expect(diagnostics).toEqual([
      expect.stringMatching(/^6:9 Value is above the maximum of 65535/),
      expect.stringMatching(/^18:18 String does not match the pattern of "\^\[0-9\]\+\$"/),
    ]);
  });
});
