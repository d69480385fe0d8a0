/**
 * Media files: a directory tree with nested dirs, symlinks, empty files and non-ASCII names, backed
 * up with `backup-files` and brought back with `restore-files`, restores byte-identical with modes
 * and mtimes (to the millisecond). A corrupt archive, a non-empty target, a missing or wrong age
 * identity and archive entries that would escape the target all fail closed; `list` and `prune`
 * see files backups beside database backups.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { fileStore, generateX25519Identity, identityToRecipient, resolveBackupId } from "@cobalt-backup/core";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";

const temp = (name: string) => mkdtempSync(join(tmpdir(), `cobalt-media-${name}-`));
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const at = (iso: string) => new Date(iso);

const UNICODE = "Ünïcødé ☃.jpg";
const LONG = `${"long-name-".repeat(12)}end.png`; // 127 characters: past ustar's 100

/**
 * Builds the tree: nested directories (one empty, one 0750, one read-only 0555 with a file in it),
 * a 3 MB random file, empty files, a relative symlink to a file and one to a directory, a non-ASCII
 * and a > 100 character name, files with modes 0600 and 0755, and millisecond mtimes on everything.
 */
function buildTree(root: string): void {
  mkdirSync(join(root, "uploads/2024/01"), { recursive: true });
  mkdirSync(join(root, "uploads/2024/02-empty"), { recursive: true });
  mkdirSync(join(root, "private"));
  mkdirSync(join(root, "frozen"));
  mkdirSync(join(root, "bin"));
  writeFileSync(join(root, "uploads/2024/01/photo.raw"), randomBytes(3 * 1024 * 1024));
  writeFileSync(join(root, "uploads/2024/01/empty.txt"), "");
  writeFileSync(join(root, "empty-at-top"), "");
  writeFileSync(join(root, UNICODE), "a snowman\n");
  writeFileSync(join(root, "uploads", LONG), "a file with a long name\n");
  writeFileSync(join(root, "private/secret.key"), "s3cr3t\n");
  writeFileSync(join(root, "bin/run.sh"), "#!/bin/sh\necho hi\n");
  writeFileSync(join(root, "frozen/readme.txt"), "read-only directory\n");
  symlinkSync("uploads/2024/01/photo.raw", join(root, "latest.raw"));
  symlinkSync("../uploads/2024", join(root, "private/current"));
  chmodSync(join(root, "private/secret.key"), 0o600);
  chmodSync(join(root, "bin/run.sh"), 0o755);
  chmodSync(join(root, "uploads/2024/01/photo.raw"), 0o644);

  const files = ["uploads/2024/01/photo.raw", "uploads/2024/01/empty.txt", "empty-at-top", UNICODE, `uploads/${LONG}`, "private/secret.key", "bin/run.sh", "frozen/readme.txt"];
  files.forEach((f, i) => utimesSync(join(root, f), at("2024-01-01T00:00:00Z"), at(`2021-03-0${(i % 9) + 1}T05:06:07.${String(101 + i * 97).padStart(3, "0")}Z`)));
  lutimesSync(join(root, "latest.raw"), at("2024-01-01T00:00:00Z"), at("2020-02-02T02:02:02.222Z"));
  lutimesSync(join(root, "private/current"), at("2024-01-01T00:00:00Z"), at("2020-03-03T03:03:03.333Z"));
  // Directories last, deepest first, as creating their children changed their mtimes.
  const dirs = ["uploads/2024/01", "uploads/2024/02-empty", "uploads/2024", "uploads", "private", "frozen", "bin", ""];
  dirs.forEach((d, i) => utimesSync(join(root, d), at("2024-01-01T00:00:00Z"), at(`2019-0${i + 1}-1${i}T1${i}:00:00.${String(10 + i * 111).padStart(3, "0")}Z`)));
  chmodSync(join(root, "private"), 0o750);
  chmodSync(join(root, "frozen"), 0o555);
}

interface Seen {
  type: "file" | "dir" | "symlink";
  mode: number;
  mtimeMs: number;
  size?: number;
  sha256?: string;
  target?: string;
}

/** Every path under `root` (and `.` itself) with what lstat, readlink and the bytes say. */
function snapshot(root: string): Record<string, Seen> {
  const out: Record<string, Seen> = {};
  const walk = (rel: string) => {
    const abs = rel ? join(root, rel) : root;
    const st = lstatSync(abs);
    const base = { mode: st.mode & 0o7777, mtimeMs: Math.round(st.mtimeMs) };
    const key = rel || ".";
    if (st.isSymbolicLink()) out[key] = { type: "symlink", ...base, target: readlinkSync(abs) };
    else if (st.isDirectory()) {
      out[key] = { type: "dir", ...base };
      for (const n of readdirSync(abs).sort()) walk(rel ? `${rel}/${n}` : n);
    } else out[key] = { type: "file", ...base, size: st.size, sha256: sha(readFileSync(abs)) };
  };
  walk("");
  return out;
}

const storeDirOf = (url: string) => fileURLToPath(url);
const errorLine = (r: { stderr: string }) => r.stderr.split("\n").find((l) => l.startsWith("cobalt-backup: error:")) ?? "";

let source: string;
let store: string;
let backupId: string;
beforeAll(async () => {
  source = join(temp("src"), "media");
  mkdirSync(source);
  buildTree(source);
  store = pathToFileURL(temp("store")).href;
  const b = await runCli(["backup-files", "--dir", source, "--dest", store, "--json"]);
  expect(b.code, b.stderr).toBe(0);
  backupId = b.json!.id;
});

describe("backup-files and restore-files", () => {
  it("restores the tree byte-identical, with modes, mtimes (ms) and symlink targets", async () => {
    expect(backupId).toMatch(/^media\/\d{8}T\d{6}\.\d{3}Z$/);
    const dir = join(storeDirOf(store), ...backupId.split("/"));
    expect(readdirSync(dir).sort()).toEqual(["files.tar.zst", "manifest.json", "verified.json"]);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    expect(manifest.format).toBe("cobalt-backup-files/1");
    expect(manifest.totals).toMatchObject({ files: 8, directories: 7, symlinks: 2 });
    expect(manifest.totals.bytes).toBe(3 * 1024 * 1024 + Buffer.byteLength("a snowman\n") + Buffer.byteLength("a file with a long name\n") + 7 + 18 + 20);
    const photo = manifest.files.find((f: { path: string }) => f.path === "uploads/2024/01/photo.raw");
    expect(photo.sha256).toBe(sha(readFileSync(join(source, "uploads/2024/01/photo.raw"))));
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(expect.arrayContaining([UNICODE, `uploads/${LONG}`]));
    expect(manifest.archive.sha256).toBe(sha(readFileSync(join(dir, "files.tar.zst"))));
    expect(JSON.parse(readFileSync(join(dir, "verified.json"), "utf8")).ok).toBe(true);

    const to = join(temp("restore"), "restored");
    const r = await runCli(["restore-files", "--from", store, "--backup", "media/latest", "--to", to, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ id: backupId, files: 8, directories: 7, symlinks: 2 });

    const [want, got] = [snapshot(source), snapshot(to)];
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    expect(got).toEqual(want);
    // Spot checks of what the comparison covers.
    expect(got["private/secret.key"]!.mode).toBe(0o600);
    expect(got["bin/run.sh"]!.mode).toBe(0o755);
    expect(got["frozen"]!.mode).toBe(0o555);
    expect(got["uploads/2024/01/photo.raw"]!.mtimeMs).toBe(at("2021-03-01T05:06:07.101Z").getTime());
    expect(got["latest.raw"]).toMatchObject({ type: "symlink", target: "uploads/2024/01/photo.raw", mtimeMs: at("2020-02-02T02:02:02.222Z").getTime() });
    expect(got["private/current"]).toMatchObject({ type: "symlink", target: "../uploads/2024" });
    expect(got[UNICODE]!.size).toBe(Buffer.byteLength("a snowman\n"));
    expect(got["uploads/2024/01/empty.txt"]).toMatchObject({ type: "file", size: 0 });
    expect(got["uploads/2024/02-empty"]).toMatchObject({ type: "dir" });
  });

  it("list shows the files backup with kind files, verified, without error", async () => {
    const r = await runCli(["list", "--from", store, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.backups).toEqual([expect.objectContaining({ id: backupId, kind: "files", files: 8, verified: true })]);
    const human = await runCli(["list", "--from", store]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(backupId);
    expect(human.stdout).toMatch(/files\s+.*8 files/);
  });

  it("fails, naming the object, when one byte of the stored archive is corrupt, and leaves no target behind", async () => {
    const corrupt = pathToFileURL(temp("corrupt")).href;
    const b = await runCli(["backup-files", "--dir", source, "--dest", corrupt, "--name", "media", "--json"]);
    expect(b.code, b.stderr).toBe(0);
    const archive = join(storeDirOf(corrupt), ...String(b.json!.id).split("/"), "files.tar.zst");
    const bytes = readFileSync(archive);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(archive, bytes);

    const to = join(temp("corrupt-restore"), "restored");
    const r = await runCli(["restore-files", "--from", corrupt, "--backup", "latest", "--to", to, "--json"]);
    expect(r.code).toBe(3);
    expect(errorLine(r)).toContain("files.tar.zst");
    expect(errorLine(r)).toMatch(/corrupt/);
    expect(r.json!.error.tag).toBe("IntegrityFailed");
    expect(existsSync(to)).toBe(false);
  });

  it("refuses a target directory that is not empty, and leaves it as it was", async () => {
    const to = temp("nonempty");
    writeFileSync(join(to, "keep.txt"), "precious");
    const r = await runCli(["restore-files", "--from", store, "--backup", backupId, "--to", to, "--json"]);
    expect(r.code).toBe(2);
    expect(errorLine(r)).toMatch(/not empty/);
    expect(r.json!.error.tag).toBe("TargetNotEmpty");
    expect(readdirSync(to)).toEqual(["keep.txt"]);
    expect(readFileSync(join(to, "keep.txt"), "utf8")).toBe("precious");
  });

  it("an encrypted backup restores only with its identity", async () => {
    const keys = temp("keys");
    const identity = await generateX25519Identity();
    const right = join(keys, "right.txt");
    const wrong = join(keys, "wrong.txt");
    writeFileSync(right, `${identity}\n`);
    writeFileSync(wrong, `${await generateX25519Identity()}\n`);
    const enc = pathToFileURL(temp("enc")).href;

    // Without an identity at backup time only the stored bytes can be checked: not marked verified.
    const unverified = await runCli(["backup-files", "--dir", source, "--dest", enc, "--recipient", await identityToRecipient(identity), "--json"]);
    expect(unverified.code, unverified.stderr).toBe(0);
    expect(unverified.json!.verified).toBe(false);
    expect(unverified.json!.unverifiedReason).toMatch(/encrypted/);
    // With it, the archive is read back, decrypted and checked.
    const b = await runCli(["backup-files", "--dir", source, "--dest", enc, "--recipient", await identityToRecipient(identity), "--identity", right, "--json"]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.json!.verified).toBe(true);
    const dir = join(storeDirOf(enc), ...String(b.json!.id).split("/"));
    expect(readdirSync(dir).sort()).toEqual(["files.tar.zst.age", "manifest.json", "verified.json"]);
    expect(readFileSync(join(dir, "files.tar.zst.age")).subarray(0, 21).toString()).toBe("age-encryption.org/v1");

    const base = temp("enc-restore");
    const none = await runCli(["restore-files", "--from", enc, "--to", join(base, "none"), "--json"]);
    expect(none.code).toBe(2);
    expect(errorLine(none)).toMatch(/encrypted.*--identity/);
    expect(existsSync(join(base, "none"))).toBe(false);

    const bad = await runCli(["restore-files", "--from", enc, "--to", join(base, "wrong"), "--identity", wrong, "--json"]);
    expect(bad.code).toBe(2);
    expect(errorLine(bad)).toMatch(/cannot decrypt files\.tar\.zst\.age/);
    expect(existsSync(join(base, "wrong"))).toBe(false);

    const ok = await runCli(["restore-files", "--from", enc, "--to", join(base, "right"), "--identity", right, "--json"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(snapshot(join(base, "right"))).toEqual(snapshot(source));
  });

  it("a missing directory is a usage error and writes nothing", async () => {
    const empty = temp("nostore");
    const r = await runCli(["backup-files", "--dir", join(empty, "does-not-exist"), "--dest", pathToFileURL(join(empty, "store")).href, "--json"]);
    expect(r.code).toBe(2);
    expect(r.json!.error.tag).toBe("SourceNotFound");
    expect(existsSync(join(empty, "store"))).toBe(false); // checked before the store is touched
  });
});

describe("archive entries that would escape the target", () => {
  /** A minimal ustar header (no pax): enough for tar-stream to parse. */
  const header = (name: string, type: "0" | "2" | "5", size: number, mtimeSec: number, linkname = ""): Buffer => {
    const h = Buffer.alloc(512);
    const oct = (n: number, width: number) => `${n.toString(8).padStart(width, "0")}\0`;
    h.write(name, 0, 100, "utf8");
    h.write(oct(type === "5" ? 0o755 : 0o644, 7), 100);
    h.write(oct(0, 7), 108);
    h.write(oct(0, 7), 116);
    h.write(oct(size, 11), 124);
    h.write(oct(mtimeSec, 11), 136);
    h.write("        ", 148);
    h.write(type, 156);
    h.write(linkname, 157, 100, "utf8");
    h.write("ustar\0", 257, "latin1");
    h.write("00", 263);
    let sum = 0;
    for (const byte of h) sum += byte;
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    return h;
  };
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

  /** Writes a hand-made files backup (uncompressed, unencrypted) whose manifest lists exactly the given entries. */
  function craftBackup(storeUrl: string, name: string, entries: { path: string; type: "file" | "symlink"; content?: string; target?: string }[]): string {
    const mtimeSec = 1_600_000_000;
    const mtime = new Date(mtimeSec * 1000).toISOString();
    const tar = Buffer.concat([
      ...entries.flatMap((e) =>
        e.type === "file" ? [header(e.path, "0", Buffer.byteLength(e.content!), mtimeSec), pad(Buffer.from(e.content!))] : [header(e.path, "2", 0, mtimeSec, e.target)],
      ),
      Buffer.alloc(1024),
    ]);
    const id = `${name}/20240101T000000.000Z`;
    const dir = join(storeDirOf(storeUrl), name, "20240101T000000.000Z");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "files.tar"), tar);
    const files = entries.filter((e) => e.type === "file").map((e) => ({ path: e.path, bytes: Buffer.byteLength(e.content!), sha256: sha(Buffer.from(e.content!)), mode: 0o644, mtime }));
    const symlinks = entries.filter((e) => e.type === "symlink").map((e) => ({ path: e.path, target: e.target!, mtime }));
    const manifest = {
      format: "cobalt-backup-files/1",
      tool: { name: "test", version: "0" },
      id,
      startedAt: mtime,
      completedAt: mtime,
      source: { kind: "directory", name, dir: "/crafted" },
      compression: "none",
      lockUntil: null,
      encryption: null,
      archive: { key: "files.tar", bytes: tar.length, sha256: sha(tar), rawBytes: tar.length, rawSha256: sha(tar) },
      root: { mode: 0o755, mtime },
      totals: { files: files.length, directories: 0, symlinks: symlinks.length, bytes: files.reduce((s, f) => s + f.bytes, 0), storedBytes: tar.length },
      files,
      directories: [],
      symlinks,
      skipped: [],
      timings: { archiveMs: 0, verifyMs: 0, totalMs: 0 },
    };
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
    return id;
  }

  it("rejects a path that climbs out with '..' and writes nothing outside", async () => {
    const storeUrl = pathToFileURL(temp("evil-dotdot")).href;
    const id = craftBackup(storeUrl, "dotdot", [{ path: "../escaped.txt", type: "file", content: "gotcha" }]);
    const base = temp("evil-dotdot-to");
    const r = await runCli(["restore-files", "--from", storeUrl, "--backup", id, "--to", join(base, "out"), "--json"]);
    expect(r.code).toBe(3);
    expect(r.json!.error.tag).toBe("UnsafeEntry");
    expect(existsSync(join(base, "escaped.txt"))).toBe(false);
    expect(existsSync(join(base, "out"))).toBe(false);
  });

  it("never writes through a symlink the archive itself planted", async () => {
    const storeUrl = pathToFileURL(temp("evil-link")).href;
    const outside = temp("outside");
    const id = craftBackup(storeUrl, "link", [
      { path: "link", type: "symlink", target: outside },
      { path: "link/pwned.txt", type: "file", content: "gotcha" },
    ]);
    const base = temp("evil-link-to");
    const r = await runCli(["restore-files", "--from", storeUrl, "--backup", id, "--to", join(base, "out"), "--json"]);
    expect(r.code).toBe(3);
    expect(r.json!.error.tag).toBe("UnsafeEntry");
    expect(errorLine(r)).toContain("link/pwned.txt");
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(base, "out"))).toBe(false);
  });
});

describe("files and database backups in one store", () => {
  it("list shows both kinds, latest resolves per kind, names do not mix, prune reads both", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("mediamix");
    await pg15.query(db, "CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) g");
    const mixed = pathToFileURL(temp("mixed")).href;
    const dbBackup = await runCli(["backup", "--source", pg15.url(db), "--dest", mixed, "--json"]);
    expect(dbBackup.code, dbBackup.stderr).toBe(0);
    const files = await runCli(["backup-files", "--dir", source, "--dest", mixed, "--json"]);
    expect(files.code, files.stderr).toBe(0);

    const list = await runCli(["list", "--from", mixed, "--json"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json!.backups).toEqual([
      expect.objectContaining({ id: dbBackup.json!.id, kind: "database", tables: 1, rows: 100 }),
      expect.objectContaining({ id: files.json!.id, kind: "files", files: 8 }),
    ]);

    // `latest` is the newest backup of the kind the command restores.
    const s = fileStore(mixed);
    expect((await resolveBackupId(s, "latest"))._unsafeUnwrap()).toBe(dbBackup.json!.id);
    expect((await resolveBackupId(s, "latest", "files"))._unsafeUnwrap()).toBe(files.json!.id);
    const wrongKind = await runCli(["restore-files", "--from", mixed, "--backup", dbBackup.json!.id, "--to", join(temp("wrongkind"), "x"), "--json"]);
    expect(wrongKind.code).toBe(2);
    expect(errorLine(wrongKind)).toMatch(/database backup/);

    // A files backup may not take a database's name: retention works per name.
    const clash = await runCli(["backup-files", "--dir", source, "--dest", mixed, "--name", db, "--json"]);
    expect(clash.code).toBe(2);
    expect(clash.json!.error.tag).toBe("NameInUse");

    const prune = await runCli(["prune", "--from", mixed, "--keep-last", "1", "--dry-run", "--json"]);
    expect(prune.code, prune.stderr).toBe(0);
    expect(JSON.stringify(prune.json)).toContain(files.json!.id);
  });
});
