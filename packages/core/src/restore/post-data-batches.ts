import { POST_DATA_PHASE, type DdlItem } from "../schema/model.js";

/**
 * Splits post-data items, in their captured (dependency) order, into batches run one after
 * another: consecutive index builds that do not depend on one another form one batch that may
 * run in parallel; every other item is a batch of its own. Backups written before items carried
 * their dependencies list post-data by phase, so there the indexes form the first batch.
 */
export function postDataBatches(items: readonly DdlItem[]): { parallel: boolean; items: DdlItem[] }[] {
  const batches: { parallel: boolean; items: DdlItem[] }[] = [];
  let open: { parallel: boolean; items: DdlItem[]; ids: Set<string> } | undefined;
  for (const item of items) {
    const parallel = item.phase === POST_DATA_PHASE.indexes;
    if (parallel && open && !(item.dependsOn ?? []).some((d) => open!.ids.has(d))) {
      open.items.push(item);
      open.ids.add(item.id);
      continue;
    }
    open = parallel ? { parallel, items: [item], ids: new Set([item.id]) } : undefined;
    batches.push(open ?? { parallel: false, items: [item] });
  }
  return batches.map(({ parallel, items }) => ({ parallel, items }));
}
