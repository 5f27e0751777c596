// Sizes and CPU figures as people read them in `top`, `runs` and `skills`.

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  if (n < 1024) return `${n}B`;
  const units = ['Ki', 'Mi', 'Gi', 'Ti'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

export function formatCpuMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}

export function formatPercent(p: number | null | undefined): string {
  return p === null || p === undefined ? '-' : `${Math.max(0, p).toFixed(0)}%`;
}
