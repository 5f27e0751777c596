// The PostgreSQL facade's wait for its worker (reconciler/state/postgres/database.ts
// Connection.call), against stand-in workers that speak the protocol (protocol.ts) with
// the timing a loaded machine can give: a wake-up with no reply yet, a reply that never
// comes, a flag set with no reply. No PostgreSQL is needed: the worker is the stand-in.

import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Connection } from '../../reconciler/state/postgres/database.js';
import { tempDir } from '../helpers/temp.js';

const dir = tempDir();
const opened: Connection[] = [];
afterAll(() => {
  for (const c of opened) c.kill();
});

/** A stand-in worker: `onRequest(req, answer, flag)` decides what happens to each request. */
function standIn(name: string, onRequest: string): URL {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(
    path,
    `import { workerData } from 'node:worker_threads';
const { port, signal } = workerData;
const flag = new Int32Array(signal);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const answer = (reply) => { port.postMessage(reply); Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); };
let n = 0;
port.on('message', async (req) => { n++; ${onRequest} });
`,
  );
  return pathToFileURL(path);
}

function connect(script: URL): Connection {
  const c = new Connection('postgres://stand-in', 'test', script);
  opened.push(c);
  return c;
}

const ok = (text: string) => ({ ok: true, rows: [{ text }], rowCount: 1 });

describe('the PostgreSQL connection waiting for its worker', () => {
  it('waits on when it is woken with no reply yet (a late notify of the request before)', () => {
    // The second request first gets a notify with nothing posted, delivered only once the
    // main thread is waiting (notify counts the waiters it woke), then its reply.
    const c = connect(
      standIn(
        'late-notify',
        `if (n === 2) { while (Atomics.notify(flag, 0) === 0) await sleep(1); await sleep(50); }
         answer({ ok: true, rows: [{ text: req.text }], rowCount: 1 });`,
      ),
    );
    expect(c.call({ op: 'exec', text: 'first' })).toEqual(ok('first'));
    expect(c.call({ op: 'exec', text: 'second' }, 10_000)).toEqual(ok('second'));
    expect(c.call({ op: 'exec', text: 'third' })).toEqual(ok('third'));
    expect(c.alive).toBe(true);
  });

  it.each([
    [
      'gives up after its timeout when no reply comes',
      'silent',
      '/* never answers */',
      300,
      'PostgreSQL did not answer within 0.3 s',
    ],
    [
      'says the worker stopped when the flag says answered and no reply was posted',
      'no-reply',
      'Atomics.store(flag, 0, 1); Atomics.notify(flag, 0);',
      10_000,
      'the PostgreSQL worker stopped',
    ],
  ])('%s, and drops the worker', (_what, name, onRequest, timeoutMs, message) => {
    const c = connect(standIn(name, onRequest));
    expect(c.call({ op: 'exec', text: 'x' }, timeoutMs)).toEqual({ ok: false, message, code: 'CADUCEUS_TIMEOUT' });
    expect(c.alive).toBe(false);
  });
});
