// Preloaded into a measured process (`node --import .../peak-rss.js?<file>`): writes the
// process's peak RSS in MB to <file> when it exits, whatever the command is.

import { writeFileSync } from 'node:fs';

const file = decodeURIComponent(new URL(import.meta.url).search.slice(1));
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS / 1024)));
