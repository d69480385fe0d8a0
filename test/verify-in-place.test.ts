/**
 * Issue 13: verify in place, core's steps called as the state machine calls them, on a scratch
 * server of PostgreSQL 15 (what the Lambda's `verifyScratch` option or the temporary instance
 * is): the edge-case corpus split into chunks passes, each part loaded once however often its
 * step runs; a difference is found and recorded; a corrupt object fails its part and records the
 * failed verification.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { fileStore, finishVerifyInPlace, type ResultAsync, postDataInPlace, prepareVerifyInPlace, scratchDatabase, verifyPartInPlace, type InPlaceDeps, type Manifest } from "@cobalt-backup/core";
import { cluster } from "./support/cluster.ts";
import { backup, tempStore } from "./support/roundtrip.ts";

const pg15 = cluster(15);
const deps = (dest: string): InPlaceDeps => ({
  connect: (database) => async () => {
    const c = new pg.Client({ connectionString: pg15.url(database) });
    await c.connect();
    return c;
  },
  store: fileStore(dest),
});
const target = { targetName: "the scratch server", maintenanceDatabase: "postgres" };
/** A step's value, or its error thrown, named after its tag (as the handlers throw it). */
async function unwrap<T>(r: ResultAsync<T, { _tag: string; message: string }>): Promise<T> {
  const x = await r;
  if (x.isErr()) throw Object.assign(new Error(x.error.message), { name: x.error._tag });
  return x.value;
}

/** Every step, as the state machine runs them: prepare until -1, each part, post-data until -1, finish. */
async function verifyInPlace(d: InPlaceDeps, id: string, partRuns = 1) {
  let prep = await unwrap(prepareVerifyInPlace(d, { id, next: 0, ...target }));
  while (prep.next >= 0) prep = await unwrap(prepareVerifyInPlace(d, { id, next: prep.next, ...target }));
  const verdicts = [];
  for (let part = 0; part < prep.parts; part++) for (let i = 0; i < partRuns; i++) verdicts.push(await unwrap(verifyPartInPlace(d, { id, part, ...target })));
  let post = { next: 0, applied: 0 };
  do post = await unwrap(postDataInPlace(d, { id, next: post.next }));
  while (post.next >= 0);
  return { prep, verdicts, finish: await unwrap(finishVerifyInPlace(d, { id, toolVersion: "0.1.0", ...target })) };
}

const databases = async () => (await pg15.query<{ datname: string }>("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'cobalt_inplace%'")).map((r) => r.datname);

describe("verify in place on PostgreSQL 15", () => {
  it("the edge-case corpus in chunks: every part compared, each loaded once however often its step runs, the inventory, sequences and large objects equal; verified.json recorded, the scratch database dropped", async () => {
    const source = await pg15.newDatabase("inplace_edge", "edge-cases_tpl");
    const dest = tempStore();
    const id = await backup(pg15.url(source), dest, 2, ["--split-larger-than", "4096"]);
    const d = deps(dest);
    const manifest = JSON.parse(readFileSync(fileURLToPath(`${dest}/${id}/manifest.json`), "utf8")) as Manifest;
    expect(manifest.tables.some((t) => t.parts.length > 1)).toBe(true);

    const { prep, verdicts, finish } = await verifyInPlace(d, id, 2);
    expect(prep.parts).toBe(manifest.tables.reduce((s, t) => s + t.parts.length, 0) + (manifest.largeObjects ? 1 : 0));
    // The second run of each part found the first one's verdict: nothing loaded twice.
    expect(verdicts.filter((v) => v.reused)).toHaveLength(prep.parts);
    expect(verdicts.filter((v) => !v.ok)).toEqual([]);
    expect(finish.report, JSON.stringify({ ...finish.report, tables: finish.report.tables.filter((t) => !t.ok) })).toMatchObject({ ok: true, inventory: [], sequences: [], matviews: [], largeObjects: { ok: true } });
    expect(finish.report.tables.map((t) => t.rows)).toEqual(manifest.tables.map((t) => t.rows));
    expect(finish.verification).toMatchObject({ ok: true, tables: manifest.tables.length, rows: manifest.totals.rows });
    expect(JSON.parse(readFileSync(fileURLToPath(`${dest}/${id}/verified.json`), "utf8"))).toMatchObject({ ok: true });
    expect(await databases()).not.toContain(scratchDatabase(id));
  });

  it("finds a part whose rows differ from the manifest, and records the failed verification; a corrupt object fails its part", async () => {
    const source = await pg15.newDatabase("inplace_bad", "pagila_tpl");
    const dest = tempStore();
    const id = await backup(pg15.url(source), dest, 2, ["--split-larger-than", "65536"]);
    const manifestPath = fileURLToPath(`${dest}/${id}/manifest.json`);
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
    // The manifest claims one row more for a chunk of rental than the object holds (its digests,
    // checked as the object is read, still match).
    const rental = manifest.tables.find((t) => t.table === "rental")!;
    expect(rental.parts.length).toBeGreaterThan(1);
    rental.parts[1]!.rows += 1;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const { verdicts, finish } = await verifyInPlace(deps(dest), id);
    expect(verdicts.filter((v) => !v.ok).map((v) => v.what)).toEqual([`public.rental (part 2 of ${rental.parts.length})`]);
    expect(finish.report.ok).toBe(false);
    expect(finish.report.tables.filter((t) => !t.ok).map((t) => t.table)).toEqual(["public.rental"]);
    expect(JSON.parse(readFileSync(fileURLToPath(`${dest}/${id}/verified.json`), "utf8"))).toMatchObject({ ok: false, problem: expect.stringMatching(/differs from the manifest in 1 place/) });

    // A corrupt object: its part fails by name, and the failed verification is recorded.
    const key = rental.parts[0]!.key;
    const objectPath = fileURLToPath(`${dest}/${id}/${key}`);
    const bytes = readFileSync(objectPath);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(objectPath, bytes);
    const d = deps(dest);
    // Preparing checks every object's presence and size (its content is checked as it is read): it passes.
    let prep = await unwrap(prepareVerifyInPlace(d, { id, next: 0, ...target }));
    while (prep.next >= 0) prep = await unwrap(prepareVerifyInPlace(d, { id, next: prep.next, ...target }));
    const part = manifest.tables.slice(0, manifest.tables.indexOf(rental)).reduce((s, t) => s + t.parts.length, 0);
    await expect(unwrap(verifyPartInPlace(d, { id, part, ...target }))).rejects.toMatchObject({ name: "ObjectCorrupt", message: expect.stringContaining(key) });
    expect(JSON.parse(readFileSync(fileURLToPath(`${dest}/${id}/verified.json`), "utf8"))).toMatchObject({ ok: false, problem: expect.stringContaining(key) });
  });
});
