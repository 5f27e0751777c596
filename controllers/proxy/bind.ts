// Whether a bind address only accepts connections from this machine.

import { isIP } from 'node:net';

export function isLoopback(bind: string): boolean {
  if (bind === 'localhost') return true;
  if (isIP(bind) === 4) return bind.startsWith('127.');
  if (isIP(bind) === 6) return bind === '::1' || /^::ffff:127\./i.test(bind);
  return false;
}
