/**
 * Retention policy with restic's `forget` semantics: going from the newest backup to the oldest,
 * `keepLast` keeps the n most recent; `keepDaily` keeps the most recent backup of each of the last
 * n days that have backups (likewise ISO weeks and calendar months, in UTC). A backup any rule
 * keeps is kept. Only complete, verified backups are counted (see `planPrune`).
 */
export interface RetentionPolicy {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}

export interface Dated {
  id: string;
  time: Date;
}

const day = (d: Date) => d.toISOString().slice(0, 10);
const month = (d: Date) => d.toISOString().slice(0, 7);
/** ISO 8601 week, e.g. 2026-W48 (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const weekday = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

/** Why each kept backup is kept ("last", "daily 2026-11-25", ...), for every backup the policy keeps. */
export function applyPolicy<T extends Dated>(backups: readonly T[], policy: RetentionPolicy): Map<string, string[]> {
  const rules: { name: string; left: number; bucket: (d: Date) => string }[] = [
    { name: "last", left: policy.keepLast ?? 0, bucket: () => "" },
    { name: "daily", left: policy.keepDaily ?? 0, bucket: day },
    { name: "weekly", left: policy.keepWeekly ?? 0, bucket: isoWeek },
    { name: "monthly", left: policy.keepMonthly ?? 0, bucket: month },
  ];
  const last = new Map<string, string>();
  const kept = new Map<string, string[]>();
  const newestFirst = [...backups].sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1));
  for (const b of newestFirst) {
    for (const rule of rules) {
      if (rule.left <= 0) continue;
      const bucket = rule.name === "last" ? b.id : rule.bucket(b.time);
      if (last.get(rule.name) === bucket) continue;
      last.set(rule.name, bucket);
      rule.left--;
      kept.set(b.id, [...(kept.get(b.id) ?? []), rule.name === "last" ? "last" : `${rule.name} ${bucket}`]);
    }
  }
  return kept;
}
