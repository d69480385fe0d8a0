/**
 * A fresh Debian 12 machine, as far as a shell's PATH can tell: a bin directory holding only the
 * commands of the packages every Debian system has (Essential or Priority required), and an
 * `apt-get` that "installs" a package by adding its commands (and its dependencies') to that
 * directory, once it has checked that the package is really installed on this test machine
 * (scripts/setup installs what the runbook names). Nothing else of the machine is reachable by
 * name: no Node, no sudo, no /usr/local/bin.
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

const SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const BIN_DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8", env: { PATH: SYSTEM_PATH }, stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 * 1024 * 1024 });

/** Installed packages, and what each provides. */
function installed(): Map<string, string[]> {
  const out = run("dpkg-query", ["-W", "-f", "${Package}\t${db:Status-Status}\t${Provides}\n"]);
  const map = new Map<string, string[]>();
  for (const line of out.split("\n")) {
    const [pkg, status, provides] = line.split("\t");
    if (pkg && status === "installed") map.set(pkg.replace(/:.*$/, ""), (provides ?? "").split(",").map((p) => p.trim().replace(/\s*\(.*$/, "")).filter(Boolean));
  }
  return map;
}

/** The installed package that is, or provides, `name`. */
function resolvePackage(name: string, pkgs: Map<string, string[]>): string | undefined {
  if (pkgs.has(name)) return name;
  for (const [pkg, provides] of pkgs) if (provides.includes(name)) return pkg;
  return undefined;
}

/** `names` and every installed package they depend on. */
function withDependencies(names: string[], pkgs: Map<string, string[]>): string[] {
  const out = run("apt-cache", ["depends", "--recurse", "--installed", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", ...names]);
  const all = new Set(names);
  for (const line of out.split("\n")) if (line && !line.startsWith(" ") && !line.startsWith("<")) all.add(line.trim());
  return [...all].filter((p) => pkgs.has(p));
}

/** Links into `bin` every command (also through alternatives and symlinks) that one of `packages` owns. */
function linkCommands(packages: string[], bin: string): void {
  const owned = new Set<string>();
  for (const p of packages) {
    for (const f of run("dpkg", ["-L", p]).split("\n")) if (BIN_DIRS.some((d) => f.startsWith(`${d}/`))) owned.add(f);
  }
  const real = new Set([...owned].filter(existsSync).map((f) => realpathSync(f)));
  for (const dir of BIN_DIRS) {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      let target: string;
      try {
        target = realpathSync(path);
      } catch {
        continue;
      }
      if (!owned.has(path) && !real.has(target)) continue;
      const link = join(bin, name);
      if (!existsSync(link) && !isLink(link)) symlinkSync(path, link);
    }
  }
}

const isLink = (p: string) => {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
};

/**
 * Makes `dir/bin` the PATH of a fresh Debian 12 root shell, with `apt-get` in it. Returns the
 * PATH to use.
 */
export function freshDebianPath(dir: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const pkgs = installed();
  const out = run("dpkg-query", ["-W", "-f", "${Package}\t${Essential}\t${Priority}\t${db:Status-Status}\n"]);
  const base = out.split("\n").map((l) => l.split("\t")).filter(([, essential, priority, status]) => status === "installed" && (essential === "yes" || priority === "required")).map(([p]) => p!.replace(/:.*$/, ""));
  linkCommands(base, bin);
  // apt-get (itself a required package's command) is replaced by the stand-in below.
  const shim = join(bin, "apt-get");
  execFileSync("rm", ["-f", shim]);
  writeFileSync(
    shim,
    `#!${process.execPath}\nimport(${JSON.stringify(new URL(import.meta.url).href)}).then((m) => m.aptGet(${JSON.stringify(bin)}, process.argv.slice(2)));\n`,
    { mode: 0o755 },
  );
  return bin;
}

/** The apt-get stand-in: `update` does nothing, `install` checks the packages and links their commands. */
export function aptGet(bin: string, args: string[]): void {
  const [command, ...rest] = args.filter((a) => !a.startsWith("-"));
  if (command === "update") return;
  if (command !== "install") {
    process.stderr.write(`apt-get (test machine): only update and install are simulated, not ${command}\n`);
    process.exit(100);
  }
  const pkgs = installed();
  const wanted: string[] = [];
  for (const name of rest) {
    const pkg = resolvePackage(name, pkgs);
    if (!pkg) {
      process.stderr.write(`E: apt-get (test machine): ${name} is not installed on this machine, so the runbook's install cannot be simulated: add it to scripts/setup\n`);
      process.exit(100);
    }
    wanted.push(pkg);
  }
  linkCommands(withDependencies(wanted, pkgs), bin);
  process.stderr.write(`apt-get (test machine): ${rest.join(" ")} installed (${basename(bin)} updated)\n`);
}
