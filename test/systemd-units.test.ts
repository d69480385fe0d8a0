/** Issue 15, acceptance 2: systemd accepts the example units in examples/systemd/. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { repoRoot } from "./support/corpus.ts";

const unitsDir = join(repoRoot, "examples/systemd");
const INSTALLED = "/usr/local/bin/cobalt-backup";
const read = (name: string) => readFileSync(join(unitsDir, name), "utf8");

/** `Key=value` lines of a unit, comments left out. */
const directives = (unit: string) => unit.split("\n").filter((l) => /^[A-Z]\w*=/.test(l));

it("systemd-analyze verify accepts the service and the timer", () => {
  // verify checks that ExecStart's program exists; this host has no installed cobalt-backup, so
  // the copies point at a stand-in executable. Everything else is verified as written.
  const dir = mkdtempSync(join(tmpdir(), "cobalt-systemd-"));
  try {
    const standIn = join(dir, "cobalt-backup");
    writeFileSync(standIn, "#!/bin/sh\n", { mode: 0o755 });
    const service = read("cobalt-backup.service");
    expect(service.split(`ExecStart=${INSTALLED} `).length).toBe(2);
    writeFileSync(join(dir, "cobalt-backup.service"), service.replace(`ExecStart=${INSTALLED} `, `ExecStart=${standIn} `));
    writeFileSync(join(dir, "cobalt-backup.timer"), read("cobalt-backup.timer"));
    const r = spawnSync("systemd-analyze", ["verify", join(dir, "cobalt-backup.service"), join(dir, "cobalt-backup.timer")], { encoding: "utf8" });
    expect(r.error, "systemd-analyze is missing: bash scripts/setup installs Debian's systemd package").toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    // Unknown keys and unparsable values are only warnings: there must be none.
    expect(`${r.stdout}${r.stderr}`).toBe("");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("the units run nightly and catch up after downtime, as a dedicated user, with secrets from root-only files, retrying only what can be transient", () => {
  const timer = directives(read("cobalt-backup.timer"));
  expect(timer).toEqual(expect.arrayContaining([expect.stringMatching(/^OnCalendar=\*-\*-\* \d\d:\d\d:00/), "Persistent=true"]));
  const service = directives(read("cobalt-backup.service"));
  expect(service).toEqual(
    expect.arrayContaining([
      "Type=oneshot",
      "DynamicUser=yes",
      "EnvironmentFile=/etc/cobalt-backup/env",
      "Environment=TMPDIR=%C/cobalt-backup",
      "Restart=on-failure",
      // 1 (failed at run time) may be transient; 2-5 (configuration, a bad backup, a leftover instance, a lost notification) are not.
      "RestartPreventExitStatus=2 3 4 5",
    ]),
  );
  expect(service.filter((l) => l.startsWith("SuccessExitStatus="))).toEqual([]);
});
