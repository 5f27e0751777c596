// read_file, write_file and list_files: confined to the run's workspace by the same guard
// as skill file steps (reconciler/workspace.ts: no absolute paths, no `..`, no symlink
// that leads out). In docker mode what the host writes is opened up to the sandbox user.

import {
  appendFileSync,
  chmodSync,
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { resolveInWorkspace } from '../../../reconciler/workspace.js';
import { errorMessage } from '../../../reconciler/errors.js';
import { failed, type AgentTool, type ToolOutcome } from './types.js';

/** Entries list_files returns at most; the rest are counted. */
const LIST_LIMIT = 1000;

const guarded = (fn: () => ToolOutcome): Promise<ToolOutcome> => {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.resolve(failed(errorMessage(err)));
  }
};

export const readFileTool: AgentTool = {
  name: 'read_file',
  description: 'Read a text file of the workspace (path relative to the workspace).',
  parameters: {
    type: 'object',
    properties: { path: { type: 'string', description: 'Path relative to the workspace.' } },
    required: ['path'],
    additionalProperties: false,
  },
  execute: (args, run) =>
    guarded(() => {
      const path = resolveInWorkspace(run.workspace, String(args.path), 'path');
      const fd = openSync(path, 'r');
      try {
        const st = fstatSync(fd);
        if (!st.isFile()) return failed(`${String(args.path)} is not a file`);
        // The head of a big file; the loop cuts what the model sees further.
        const len = Math.min(st.size, run.outputLimitBytes);
        const buf = Buffer.alloc(len);
        readSync(fd, buf, 0, len, 0);
        const more = st.size > len ? `\n[… ${st.size - len} more bytes not read]` : '';
        return { status: 'succeeded', text: buf.toString('utf8') + more };
      } finally {
        closeSync(fd);
      }
    }),
};

export const writeFileTool: AgentTool = {
  name: 'write_file',
  description: 'Write (or append to) a text file of the workspace; missing directories are created.',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'Path relative to the workspace.' },
      content: { type: 'string', description: 'The text to write.' },
      append: { type: 'boolean', description: 'Append instead of replacing the file.', default: false },
    },
    required: ['path', 'content'],
    additionalProperties: false,
  },
  execute: (args, run) =>
    guarded(() => {
      const path = resolveInWorkspace(run.workspace, String(args.path), 'path');
      const content = String(args.content);
      const firstNewDir = mkdirSync(dirname(path), { recursive: true });
      if (args.append === true) appendFileSync(path, content);
      else writeFileSync(path, content);
      if (run.mode !== 'local') {
        // The sandbox runs as another user, who must be able to change what the host wrote.
        chmodSync(path, 0o666);
        if (firstNewDir)
          for (let d = dirname(path); d.length >= firstNewDir.length; d = dirname(d)) chmodSync(d, 0o777);
      }
      return { status: 'succeeded', text: `wrote ${Buffer.byteLength(content)} bytes to ${String(args.path)}` };
    }),
};

export const listFilesTool: AgentTool = {
  name: 'list_files',
  description: 'List the files of a workspace directory (directories end with /, symlinks with @).',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'Directory relative to the workspace.', default: '.' },
      recursive: { type: 'boolean', description: 'Include subdirectories.', default: false },
    },
    additionalProperties: false,
  },
  execute: (args, run) =>
    guarded(() => {
      const rel = args.path === undefined || args.path === '' ? '.' : String(args.path);
      const root = rel === '.' ? run.workspace : resolveInWorkspace(run.workspace, rel, 'path');
      if (!lstatSync(root).isDirectory()) return failed(`${rel} is not a directory`);
      const out: string[] = [];
      let more = 0;
      const walk = (dir: string, prefix: string): void => {
        for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
          if (out.length >= LIST_LIMIT) {
            more++;
            continue;
          }
          const name = prefix + e.name;
          // Symlinks are listed, never followed: their targets may lie outside the workspace.
          out.push(e.isSymbolicLink() ? `${name}@` : e.isDirectory() ? `${name}/` : name);
          if (args.recursive === true && e.isDirectory() && !e.isSymbolicLink()) walk(join(dir, e.name), `${name}/`);
        }
      };
      walk(root, '');
      const text = out.length ? out.join('\n') + (more ? `\n[… ${more} more entries]` : '') : '(empty)';
      return { status: 'succeeded', text };
    }),
};
