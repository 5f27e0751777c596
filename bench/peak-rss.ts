// Preloaded into a measured process (`node --import .../peak-rss.js?<file>`): writes the
// process's peak RSS in MB and its CPU time in ms (user + system, every thread) to <file>
// when it exits, whatever the command is.

import { writeFileSync } from 'node:fs';

const file = decodeURIComponent(new URL(import.meta.url).search.slice(1));
if (file)
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, `${u.maxRSS / 1024} ${(u.userCPUTime + u.systemCPUTime) / 1000}`);
  });
