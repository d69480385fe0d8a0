/**
 * Runs `work` over `items`, each worker (a connection) taking one item at a time; the first
 * failure stops further items from starting and is rethrown once running ones have settled.
 */
export async function runPool<W, T>(workers: readonly W[], items: readonly T[], work: (worker: W, item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  await Promise.all(
    workers.map(async (worker) => {
      while (failed === undefined && next < items.length) {
        const item = items[next++]!;
        try {
          await work(worker, item);
        } catch (error) {
          failed ??= { error };
        }
      }
    }),
  );
  if (failed !== undefined) throw failed.error;
}
