// Tool results are cut to the run's toolOutputBytes before the model sees them: the head
// and the tail are kept (where errors and summaries usually are), the middle is dropped.

export function cutMiddle(text: string, limit: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= limit) return text;
  const dropped = buf.length - limit;
  const half = Math.floor(limit / 2);
  const head = buf.subarray(0, half).toString('utf8');
  const tail = buf.subarray(buf.length - (limit - half)).toString('utf8');
  return `${head}\n[… ${dropped} bytes cut …]\n${tail}`;
}
