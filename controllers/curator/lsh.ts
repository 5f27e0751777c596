// Locality-sensitive hashing over MinHash signatures: signatures are cut into bands and
// skills whose band hashes collide become candidate pairs. With 16 bands of 8 rows the
// collision probability rises steeply around a similarity of 0.7, so pairs above the
// default 0.8 threshold are found without comparing all n² pairs.

import { SIGNATURE_SIZE } from './minhash.js';

export interface LshOptions {
  bands: number;
  rows: number;
}

export const DEFAULT_LSH: LshOptions = { bands: 16, rows: 8 };

/** Candidate pairs [i, j] with i < j, each once. */
export function candidatePairs(
  signatures: readonly Uint32Array[],
  opts: LshOptions = DEFAULT_LSH,
): Array<[number, number]> {
  if (opts.bands * opts.rows > SIGNATURE_SIZE)
    throw new Error(`bands × rows exceeds the signature size ${SIGNATURE_SIZE}`);
  const seen = new Set<number>();
  const pairs: Array<[number, number]> = [];
  const n = signatures.length;
  for (let b = 0; b < opts.bands; b++) {
    const buckets = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const key = bandKey(signatures[i] as Uint32Array, b * opts.rows, opts.rows);
      const bucket = buckets.get(key);
      if (bucket) bucket.push(i);
      else buckets.set(key, [i]);
    }
    for (const bucket of buckets.values()) {
      if (bucket.length < 2) continue;
      for (let x = 0; x < bucket.length; x++) {
        for (let y = x + 1; y < bucket.length; y++) {
          const i = bucket[x] as number;
          const j = bucket[y] as number;
          // Pair key as one number: fine while n < 2^26 (67 M skills).
          const k = i * n + j;
          if (seen.has(k)) continue;
          seen.add(k);
          pairs.push([i, j]);
        }
      }
    }
  }
  return pairs;
}

/**
 * One band's rows folded into a 52-bit number (two independent 32-bit mixes): a rare
 * collision of different bands only adds a candidate, which the exact check then drops.
 */
function bandKey(sig: Uint32Array, from: number, rows: number): number {
  let h1 = 0x9e3779b9;
  let h2 = 0x85ebca6b;
  for (let r = from; r < from + rows; r++) {
    const x = sig[r] as number;
    h1 = Math.imul(h1 ^ x, 0x01000193) >>> 0;
    h2 = Math.imul((h2 + x) ^ (h2 >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h1 * 0x100000 + (h2 >>> 12);
}
