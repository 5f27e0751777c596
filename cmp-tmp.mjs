import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DockerBackend } from './dist/controllers/execution/docker-backend.js';
import { silentLogger } from './dist/reconciler/log.js';
import { mkdtempSync, chmodSync } from 'node:fs';
const ex = promisify(execFile);
const b = new DockerBackend({ log: silentLogger });
const ws = mkdtempSync('/tmp/ws-'); chmodSync(ws, 0o777);
const iso = { mode: 'docker', image: 'caduceus-sandbox:latest', network: 'none', readOnly: true, user: '65534:65534' };
let a = 0, c = 0;
for (let i = 0; i < 10; i++) {
  let t = performance.now();
  await b.run({ runId: 'x'+i, command: 'echo hi', env: {}, workspace: ws, outputLimitBytes: 1e6 }, iso);
  a += performance.now() - t;
  t = performance.now();
  await ex('docker', ['run','--rm','--network','none','--read-only','--tmpfs','/tmp:rw,nosuid,nodev,size=64m,mode=1777','--user','65534:65534','--cap-drop','ALL','--security-opt','no-new-privileges','-v',`${ws}:/workspace:rw`,'-w','/workspace','caduceus-sandbox:latest','/bin/sh','-c','echo hi']);
  c += performance.now() - t;
}
console.log('ours', (a/10).toFixed(0), 'cli', (c/10).toFixed(0));
await b.stop();
