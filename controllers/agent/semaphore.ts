// At most `n` async jobs at once, the rest waiting in order: parallel tool calls of one
// model turn and the children of one delegate call stay within the Runtime's limit.

export type Limit = <T>(job: () => Promise<T>) => Promise<T>;

export function semaphore(n: number): Limit {
  let active = 0;
  const waiting: Array<() => void> = [];
  const next = (): void => {
    if (active >= n) return;
    const go = waiting.shift();
    if (go) {
      active++;
      go();
    }
  };
  return <T>(job: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      waiting.push(() => {
        job()
          .then(resolve, reject)
          .finally(() => {
            active--;
            next();
          });
      });
      next();
    });
}
