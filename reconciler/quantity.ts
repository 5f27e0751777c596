// Memory sizes as written in specs (`512Mi`, `1Gi`, `256M`, `1g`, bare bytes) to bytes.

import { CaduceusError } from './errors.js';

const UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3, // Docker's own spelling: binary
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
};

export function parseMemory(text: string, field = 'isolation.memory'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[(m[2] as string).toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new CaduceusError('InvalidQuantity', `"${text}" is not a memory size`, {
      field,
      hint: 'write e.g. 256Mi, 1Gi or 512m',
    });
  }
  return Math.round(Number(m[1]) * unit);
}
