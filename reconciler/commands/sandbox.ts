// Placeholder until the command lands; replaced by its owner.
export async function main(_argv: string[]): Promise<number> {
  process.stderr.write('caduceus sandbox: not built yet\n');
  return 2;
}
