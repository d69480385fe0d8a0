import { Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { listBackupIds, readJson, type CatalogError } from "../catalog/backup-catalog.js";
import { filesManifestSchema, isFilesManifest } from "../manifest/files-manifest.js";
import { MANIFEST_KEY, manifestSchema, storedObjects } from "../manifest/manifest.js";
import { backupPrefix } from "../object/backup-id.js";
import { failWith, settle, unexpected, type Fail, type ResultAsync, type Unexpected } from "../result.js";
import type { BackupStore, StoreError } from "../store/backup-store.js";
import { abortReason, causeMessage } from "../util/errors.js";
import { Meter } from "../util/meter.js";
import { runPool } from "../util/pool.js";

/**
 * How deep a check goes: `sizes` only lists the store (every object present at its recorded
 * size), `all` also reads every object and compares its sha256, `subset` reads objects chosen at
 * random until `percent` of the stored bytes are read (another sample each time).
 */
export type ReadData = { mode: "sizes" } | { mode: "all" } | { mode: "subset"; percent: number };

/** What is wrong with one object of a backup. */
export interface ObjectDamage {
  /** The object's key inside the backup (`data/0001.copy.zst`); `manifest.json` when the manifest cannot be read. */
  key: string;
  problem: "missing" | "size" | "sha256" | "manifest";
  /** Names the backup and the object. */
  message: string;
}

/** One backup's verdict. */
export interface BackupCheck {
  id: string;
  /** `unknown` when its manifest cannot be read. */
  kind: "database" | "files" | "unknown";
  ok: boolean;
  /** The objects its manifest lists (schema, every table part, large objects; a files backup's archive) and their stored bytes. */
  objects: number;
  bytes: number;
  /** Of those, the ones read back and hashed. */
  objectsRead: number;
  bytesRead: number;
  damage: ObjectDamage[];
}

export interface CheckReport {
  location: string;
  readData: ReadData;
  /** No backup checked is damaged. */
  ok: boolean;
  /** Oldest first. */
  backups: BackupCheck[];
}

/** Why a check could not reach a verdict (damage is a verdict, in the report, not an error). */
export type CheckError = CatalogError | { _tag: "Interrupted"; reason: string; message: string } | Unexpected;

export interface CheckProgress {
  backupsListed: number;
  backupsTotal: number;
  objectsRead: number;
  objectsToRead: number;
  bytesRead: number;
  bytesToRead: number;
  /** The object being read, as `<backup id>/<key>`. */
  reading?: string;
}

export interface CheckDeps {
  store: BackupStore;
  /** Objects read at the same time (default 2). Memory is a few stream buffers per job, whatever the objects' sizes. */
  jobs?: number;
  /** Draws the subset (default Math.random). */
  random?: () => number;
  signal?: AbortSignal;
  onProgress?: (p: CheckProgress) => void;
}

export interface CheckInput {
  /** Ids of committed backups of either kind, or every one in the store. */
  backups: readonly string[] | "all";
  readData: ReadData;
}

const fail: Fail<CheckError> = failWith();

/**
 * Checks that backups are whole in the store without restoring them, as restic's `check` does:
 * each manifest is read, every object it lists must be in the store at its recorded size, and
 * with `readData` the objects are streamed back and their sha256 compared with the manifest's
 * (the digest is of the stored bytes: no decryption key is needed). Reads stream; no object is
 * held in memory. Damage is reported per backup and object; only a store that cannot be read
 * (or the signal) fails the check.
 */
export function checkBackups(deps: CheckDeps, input: CheckInput): ResultAsync<CheckReport, CheckError> {
  const other = (e: unknown): CheckError => {
    if (deps.signal?.aborted) {
      const reason = abortReason(deps.signal);
      return { _tag: "Interrupted", reason, message: `${reason}: the check stopped` };
    }
    return unexpected(e, "check failed");
  };
  return settle(run(deps, input), other, deps.signal);
}

interface Candidate {
  check: BackupCheck;
  key: string;
  bytes: number;
  sha256: string;
}

async function run(deps: CheckDeps, input: CheckInput): Promise<CheckReport> {
  const { store, signal } = deps;
  let ids: readonly string[];
  if (input.backups === "all") {
    const listed = await listBackupIds(store);
    if (listed.isErr()) return fail(listed.error);
    ids = listed.value;
  } else ids = input.backups;
  const progress: CheckProgress = { backupsListed: 0, backupsTotal: ids.length, objectsRead: 0, objectsToRead: 0, bytesRead: 0, bytesToRead: 0 };
  const report = () => deps.onProgress?.({ ...progress });

  // Manifests and listings first: missing objects and wrong sizes need no reading.
  const checks: BackupCheck[] = [];
  const present: Candidate[] = [];
  for (const id of ids) {
    signal?.throwIfAborted();
    const { check, candidates } = await listed(store, id);
    checks.push(check);
    present.push(...candidates);
    progress.backupsListed++;
    report();
  }

  const toRead = input.readData.mode === "all" ? present : input.readData.mode === "subset" ? pickSubset(present, input.readData.percent, deps.random ?? Math.random) : [];
  progress.objectsToRead = toRead.length;
  progress.bytesToRead = toRead.reduce((s, c) => s + c.bytes, 0);
  report();
  const workers = Array.from({ length: Math.max(1, deps.jobs ?? 2) }, (_, i) => i);
  await runPool(workers, toRead, async (_, c) => {
    signal?.throwIfAborted();
    const read = await digestOf(store, c, signal, (n) => {
      progress.bytesRead += n;
      deps.onProgress?.({ ...progress, reading: `${c.check.id}/${c.key}` });
    });
    c.check.objectsRead++;
    c.check.bytesRead += read === "missing" ? 0 : read.bytes;
    progress.objectsRead++;
    if (read === "missing") damage(c.check, c.key, "missing", `object ${c.key} is missing from ${store.location}`);
    else if (read.bytes !== c.bytes) damage(c.check, c.key, "size", `object ${c.key} is ${read.bytes} bytes, the manifest recorded ${c.bytes}`);
    else if (read.sha256 !== c.sha256) damage(c.check, c.key, "sha256", `object ${c.key} has sha256 ${read.sha256}, the manifest recorded ${c.sha256}`);
    report();
  });
  for (const c of checks) c.damage.sort((a, b) => (a.key < b.key ? -1 : 1));
  return { location: store.location, readData: input.readData, ok: checks.every((c) => c.ok), backups: checks };
}

function damage(check: BackupCheck, key: string, problem: ObjectDamage["problem"], what: string): void {
  check.ok = false;
  check.damage.push({ key, problem, message: `backup ${check.id}: ${what}` });
}

/** A backup's manifest and listing: the damage they show, and the objects present at their size (which reading may still find corrupt). */
async function listed(store: BackupStore, id: string): Promise<{ check: BackupCheck; candidates: Candidate[] }> {
  const prefix = backupPrefix(id);
  const check: BackupCheck = { id, kind: "unknown", ok: true, objects: 0, bytes: 0, objectsRead: 0, bytesRead: 0, damage: [] };
  const manifest = await readJson(store, `${prefix}${MANIFEST_KEY}`, (v) =>
    isFilesManifest(v) ? { kind: "files" as const, refs: [filesManifestSchema.parse(v).archive] } : { kind: "database" as const, refs: storedObjects(manifestSchema.parse(v)) },
  );
  if (manifest.isErr()) {
    const e = manifest.error;
    if (e._tag === "Invalid") {
      damage(check, MANIFEST_KEY, "manifest", `its manifest cannot be read: ${e.message}`);
      return { check, candidates: [] };
    }
    if (e._tag === "ObjectNotFound") return fail({ _tag: "BackupNotFound", id, message: `no backup ${id} in ${store.location} (it may have been pruned meanwhile)` });
    return fail(storeFailed(e));
  }
  check.kind = manifest.value.kind;
  const objects = await store.list(prefix);
  if (objects.isErr()) return fail(storeFailed(objects.error));
  const sizes = new Map(objects.value.map((o) => [o.key.slice(prefix.length), o.bytes]));
  const candidates: Candidate[] = [];
  for (const ref of manifest.value.refs) {
    check.objects++;
    check.bytes += ref.bytes;
    const size = sizes.get(ref.key);
    if (size === undefined) damage(check, ref.key, "missing", `object ${ref.key} is missing from ${store.location}`);
    else if (size !== ref.bytes) damage(check, ref.key, "size", `object ${ref.key} is ${size} bytes, the manifest recorded ${ref.bytes}`);
    else candidates.push({ check, key: ref.key, bytes: ref.bytes, sha256: ref.sha256 });
  }
  return { check, candidates };
}

const storeFailed = (e: StoreError): CatalogError => ({ _tag: "StoreFailed", storeError: e, message: e.message });

/** Size and sha256 of an object's stored bytes, streamed; `missing` when it is gone. A read that breaks off fails the check. */
async function digestOf(store: BackupStore, c: Candidate, signal: AbortSignal | undefined, onBytes: (n: number) => void): Promise<{ bytes: number; sha256: string } | "missing"> {
  const key = `${backupPrefix(c.check.id)}${c.key}`;
  const got = await store.get(key);
  if (got.isErr()) return got.error._tag === "ObjectNotFound" ? "missing" : fail(storeFailed(got.error));
  const body: Readable = got.value;
  // The codec's Meter counts and hashes the stored bytes, as it did when they were written.
  const meter = new Meter((n) => onBytes(n));
  try {
    await pipeline(body, meter, new Writable({ write: (_chunk, _enc, done) => done() }), ...(signal ? [{ signal }] : []));
  } catch (e) {
    body.destroy();
    if (signal?.aborted) throw e;
    const message = `reading ${key} in ${store.location} broke off: ${causeMessage(e)}`;
    return fail(storeFailed({ _tag: "StoreIOFailed", key, message, retryable: true }));
  }
  return { bytes: meter.bytes, sha256: meter.sha256() };
}

/**
 * The objects a subset reads: drawn at random (with `random`) until their bytes reach `percent`
 * of all the objects' bytes, and at least one when there are any.
 */
export function pickSubset<T extends { bytes: number }>(items: readonly T[], percent: number, random: () => number): T[] {
  const shuffled = [...items];
  for (let i = shuffled.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const target = (shuffled.reduce((s, o) => s + o.bytes, 0) * percent) / 100;
  const picked: T[] = [];
  let sum = 0;
  for (const item of shuffled) {
    if (picked.length > 0 && sum >= target) break;
    picked.push(item);
    sum += item.bytes;
  }
  return picked;
}

/**
 * The depth a flag or configuration value asks for: `true` every object, `false` sizes only, a
 * percentage (`"10%"`, more than 0 and at most 100) a subset; undefined for anything else.
 */
export function parseReadData(value: boolean | string): ReadData | undefined {
  if (typeof value === "boolean") return value ? { mode: "all" } : { mode: "sizes" };
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  const percent = m ? Number(m[1]) : NaN;
  return percent > 0 && percent <= 100 ? { mode: "subset", percent } : undefined;
}

/** The depth in words, for reports. */
export const describeReadData = (r: ReadData): string =>
  r.mode === "all" ? "every object read, sha256 compared" : r.mode === "subset" ? `${r.percent}% of the stored bytes read, sha256 compared` : "sizes listed, nothing read";
