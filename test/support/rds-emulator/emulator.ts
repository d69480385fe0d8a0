/**
 * The emulator's engine: instances, snapshots and security-group rules, the background work that
 * moves them through RDS's states (with configurable delays), and the PostgreSQL servers behind them.
 * The HTTP actions (rds-actions.ts, ec2-actions.ts) validate requests and call into this.
 */
import { mkdir, mkdtemp, chmod, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleepFor } from "node:timers/promises";
import { randomBytes } from "node:crypto";
import type { PostgresBinaries } from "../../../packages/cli/src/adapters/embedded-postgres.ts";
import { binariesOf } from "../postgres.ts";
import { copyDataDir, createSourceCluster, onlineBackup, setRolePassword, startClusterOn, type PgCluster } from "./clusters.ts";
import { Faults, type Phase } from "./faults.ts";
import { ApiError, type Params } from "./query-protocol.ts";
import { instanceArn, newResourceId, snapshotArn, type IngressRule, type InstanceState, type SnapshotState, type Tag } from "./state.ts";

/** How long each asynchronous transition takes at least (the real work may take longer). */
export interface Delays {
  /** Restore: `creating` until available (default 300). */
  createDelayMs: number;
  /** Master password change: from ModifyDBInstance until applied and `available` again (default 300). */
  modifyDelayMs: number;
  /** After ModifyDBInstance the instance still reads `available` (with the change pending) this long before switching status, as RDS does (default 50). */
  modifyLagMs: number;
  /** DeleteDBInstance: `deleting` until gone (default 300). */
  deleteDelayMs: number;
  /** CreateDBSnapshot: `creating` until available (default 300). */
  snapshotDelayMs: number;
}

export interface EmulatorOptions {
  region?: string;
  delays?: Partial<Delays>;
  /** Largest page DescribeDBInstances / DescribeDBSnapshots return, to exercise Marker paging (default 100, the RDS maximum). */
  pageSize?: number;
  /** Status while a master password change is applied (default `resetting-master-credentials`, what RDS shows; some docs say `modifying`). */
  passwordChangeStatus?: string;
  /** Security groups EC2 knows; without this list any well-formed `sg-...` id exists. */
  securityGroups?: string[];
}

export interface SourceInstanceOptions {
  id: string;
  /** Default `postgres` (the bootstrap superuser); another name becomes a SUPERUSER login role. */
  masterUsername?: string;
  /** Default: random. */
  masterPassword?: string;
  /** A database created at launch, reported as DBName. */
  dbName?: string;
  instanceClass?: string;
  tags?: Tag[] | Record<string, string>;
  vpcSecurityGroupIds?: string[];
  subnetGroupName?: string;
  publiclyAccessible?: boolean;
  multiAZ?: boolean;
  deletionProtection?: boolean;
  storageType?: string;
  allocatedStorage?: number;
}

/** An instance as tests see it. */
export interface InstanceInfo {
  id: string;
  arn: string;
  status: string;
  /** Tags as a map (see tagList for order and duplicates). */
  tags: Record<string, string>;
  tagList: Tag[];
  host: "127.0.0.1";
  /** Port of the running server, if one runs. */
  port: number | undefined;
  masterUsername: string;
  /** The master password the server accepts now. */
  password: string;
  /** A password change is pending. */
  passwordPending: boolean;
  dbName?: string;
  engineVersion: string;
  instanceClass: string;
  storageType: string;
  vpcSecurityGroupIds: string[];
  subnetGroupName: string;
  publiclyAccessible: boolean;
  multiAZ: boolean;
  deletionProtection: boolean;
  restoredFrom?: string;
  failure?: string;
  /** Connection URL as the master user with the current password (throws if no server runs). */
  url(database?: string): string;
}

export interface SnapshotInfo {
  id: string;
  arn: string;
  instanceId: string;
  type: "manual" | "automated";
  status: string;
  createTime: Date;
  tags: Tag[];
  failure?: string;
}

export interface RecordedRequest {
  service: "rds" | "ec2";
  action: string;
  /** Parsed parameters; values of any *Password* parameter read "****" (see lastPasswordSetFor). */
  params: Params;
  at: Date;
  /** HTTP status returned. */
  status: number;
  /** Error code returned, if the call failed (injected or not). */
  error?: string;
  requestId: string;
}

const ID_RE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export function validateInstanceId(id: string): string {
  const lower = id.toLowerCase();
  if (lower.length > 63 || !ID_RE.test(lower)) {
    throw new ApiError("InvalidParameterValue", `The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`);
  }
  return lower;
}

export class Emulator {
  readonly faults = new Faults();
  readonly delays: Delays;
  readonly region: string;
  readonly pageSize: number;
  readonly passwordChangeStatus: string;
  readonly knownSecurityGroups?: Set<string>;
  readonly requests: RecordedRequest[] = [];
  readonly instances = new Map<string, InstanceState>();
  readonly snapshots = new Map<string, SnapshotState>();
  readonly ingress: IngressRule[] = [];
  private readonly passwords = new Map<string, string>();
  private readonly live = new Set<PgCluster>();
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private closed = false;

  private constructor(
    private readonly binaries: PostgresBinaries,
    private readonly root: string,
    opts: EmulatorOptions,
  ) {
    this.region = opts.region ?? "us-east-1";
    this.delays = { createDelayMs: 300, modifyDelayMs: 300, modifyLagMs: 50, deleteDelayMs: 300, snapshotDelayMs: 300, ...opts.delays };
    this.pageSize = opts.pageSize ?? 100;
    this.passwordChangeStatus = opts.passwordChangeStatus ?? "resetting-master-credentials";
    if (opts.securityGroups) this.knownSecurityGroups = new Set(opts.securityGroups);
  }

  static async create(opts: EmulatorOptions): Promise<Emulator> {
    const binaries = await binariesOf(15);
    const root = await mkdtemp(join(tmpdir(), "cobalt-rds-emulator-"));
    await chmod(root, 0o755);
    return new Emulator(binaries, root, opts);
  }

  // ---- source instances and automated snapshots (programmatic) ----

  async createSourceInstance(opts: SourceInstanceOptions): Promise<InstanceState> {
    const id = validateInstanceId(opts.id);
    if (this.instances.has(id)) throw new Error(`instance ${id} already exists`);
    const masterUsername = opts.masterUsername ?? "postgres";
    const password = opts.masterPassword ?? randomBytes(18).toString("base64url");
    const { cluster, adminPassword, engineVersion } = await createSourceCluster(this.binaries, { masterUsername, masterPassword: password, dbName: opts.dbName });
    this.live.add(cluster);
    if (this.closed) {
      await this.destroyCluster(cluster);
      throw new Error("emulator stopped");
    }
    const tags = Array.isArray(opts.tags) ? opts.tags : Object.entries(opts.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    const inst: InstanceState = {
      id,
      arn: instanceArn(this.region, id),
      resourceId: newResourceId(),
      status: "available",
      engineVersion,
      instanceClass: opts.instanceClass ?? "db.m6g.large",
      masterUsername,
      dbName: opts.dbName,
      allocatedStorage: opts.allocatedStorage ?? 100,
      storageType: opts.storageType ?? "gp3",
      publiclyAccessible: opts.publiclyAccessible ?? false,
      multiAZ: opts.multiAZ ?? false,
      deletionProtection: opts.deletionProtection ?? false,
      vpcSecurityGroupIds: opts.vpcSecurityGroupIds ?? ["sg-0source"],
      subnetGroupName: opts.subnetGroupName ?? "default",
      availabilityZone: `${this.region}a`,
      createTime: new Date(),
      tags,
      password,
      adminPassword,
      cluster,
      ready: Promise.resolve(),
      lock: Promise.resolve(),
    };
    this.instances.set(id, inst);
    return inst;
  }

  /** Snapshot record in `creating`; `copy` fills it. */
  newSnapshot(inst: InstanceState, id: string, type: "manual" | "automated", tags: Tag[], createTime = new Date()): SnapshotState {
    if (this.snapshots.has(id)) throw new ApiError("DBSnapshotAlreadyExists", `Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`);
    const snap: SnapshotState = {
      id,
      arn: snapshotArn(this.region, id),
      instanceId: inst.id,
      type,
      status: "creating",
      percentProgress: 0,
      createTime,
      instanceCreateTime: inst.createTime,
      engineVersion: inst.engineVersion,
      masterUsername: inst.masterUsername,
      dbName: inst.dbName,
      port: inst.cluster?.port ?? 5432,
      allocatedStorage: inst.allocatedStorage,
      storageType: inst.storageType,
      availabilityZone: inst.availabilityZone,
      resourceId: inst.resourceId,
      tags,
      password: inst.password,
      adminPassword: inst.adminPassword,
    };
    this.snapshots.set(id, snap);
    return snap;
  }

  /** Copies the instance's data into the snapshot (online, consistent); the snapshot stays `creating`. */
  async copyToSnapshot(inst: InstanceState, snap: SnapshotState): Promise<void> {
    const cluster = inst.cluster;
    if (!cluster) throw new Error(`instance ${inst.id} has no running server`);
    const dir = await this.newDir("snapshots", snap.id);
    await this.serialize(inst, () => onlineBackup(cluster.port, inst.adminPassword, cluster.dataDir, join(dir, "data")));
    snap.dataDir = join(dir, "data");
    // The password a restore will have is the one in the copied catalog.
    snap.password = inst.password;
  }

  /** CreateDBSnapshot's background work: copy, then available after snapshotDelayMs; the instance reads `backing-up` meanwhile. */
  startManualSnapshot(inst: InstanceState, snap: SnapshotState): void {
    if (inst.status === "available") inst.status = "backing-up";
    this.track(
      (async () => {
        const started = Date.now();
        try {
          await this.copyToSnapshot(inst, snap);
          await this.sleep(this.delays.snapshotDelayMs - (Date.now() - started));
          if (snap.status === "creating") {
            snap.status = "available";
            snap.percentProgress = 100;
          }
        } catch (e) {
          if (this.closed) return;
          snap.status = "failed";
          snap.failure = String(e);
        } finally {
          if (inst.status === "backing-up") inst.status = "available";
        }
      })(),
    );
  }

  async createAutomatedSnapshot(instanceId: string, opts: { createTime?: Date; id?: string; status?: string } = {}): Promise<SnapshotState> {
    const inst = this.instances.get(instanceId.toLowerCase());
    if (!inst) throw new Error(`no instance ${instanceId}`);
    const createTime = opts.createTime ?? new Date();
    const stamp = createTime.toISOString().slice(0, 16).replace(/[T:]/g, "-");
    let id = opts.id ?? `rds:${inst.id}-${stamp}`;
    for (let n = 2; !opts.id && this.snapshots.has(id); n++) id = `rds:${inst.id}-${stamp}-${n}`;
    const snap = this.newSnapshot(inst, id, "automated", [], createTime);
    try {
      await this.copyToSnapshot(inst, snap);
    } catch (e) {
      this.snapshots.delete(id);
      throw e;
    }
    snap.status = opts.status ?? "available";
    snap.percentProgress = snap.status === "available" ? 100 : 0;
    return snap;
  }

  // ---- restore, modify, delete ----

  restore(
    snap: SnapshotState,
    req: {
      id: string;
      instanceClass?: string;
      subnetGroupName?: string;
      vpcSecurityGroupIds: string[];
      publiclyAccessible?: boolean;
      multiAZ?: boolean;
      deletionProtection?: boolean;
      storageType?: string;
      tags?: Tag[];
      dbName?: string;
    },
  ): InstanceState {
    const source = this.instances.get(snap.instanceId);
    const inst: InstanceState = {
      id: req.id,
      arn: instanceArn(this.region, req.id),
      resourceId: newResourceId(),
      status: "creating",
      engineVersion: snap.engineVersion,
      instanceClass: req.instanceClass ?? source?.instanceClass ?? "db.m6g.large",
      masterUsername: snap.masterUsername,
      dbName: req.dbName ?? snap.dbName,
      allocatedStorage: snap.allocatedStorage,
      storageType: req.storageType ?? snap.storageType,
      publiclyAccessible: req.publiclyAccessible ?? false,
      multiAZ: req.multiAZ ?? false,
      deletionProtection: req.deletionProtection ?? false,
      vpcSecurityGroupIds: req.vpcSecurityGroupIds.length > 0 ? req.vpcSecurityGroupIds : ["sg-0default"],
      subnetGroupName: req.subnetGroupName ?? "default",
      availabilityZone: `${this.region}a`,
      createTime: new Date(),
      tags: req.tags ?? snap.tags.map((t) => ({ ...t })),
      password: snap.password,
      adminPassword: snap.adminPassword,
      restoredFrom: snap.id,
      ready: Promise.resolve(),
      lock: Promise.resolve(),
    };
    this.instances.set(inst.id, inst);
    this.faults.claimNext("create", inst.id);
    inst.ready = this.track(this.runRestore(inst, snap));
    return inst;
  }

  private async runRestore(inst: InstanceState, snap: SnapshotState): Promise<void> {
    const started = Date.now();
    try {
      const dir = await this.newDir("instances", inst.id);
      await copyDataDir(snap.dataDir!, join(dir, "data"));
      const cluster = await startClusterOn(this.binaries, join(dir, "data"), dir);
      this.live.add(cluster);
      inst.cluster = cluster;
      await this.sleep(this.delays.createDelayMs - (Date.now() - started));
      this.finish(inst, "create", "creating", () => (inst.status = "available"));
    } catch (e) {
      if (this.closed || inst.status !== "creating") return;
      inst.status = "failed";
      inst.failure = String(e);
    }
  }

  modifyPassword(inst: InstanceState, password: string): void {
    inst.pendingPassword = password;
    this.passwords.set(inst.id, password);
    this.faults.claimNext("modify", inst.id);
    this.track(this.runModify(inst, password));
  }

  private async runModify(inst: InstanceState, password: string): Promise<void> {
    const started = Date.now();
    const applying = this.passwordChangeStatus;
    try {
      await this.sleep(this.delays.modifyLagMs);
      // A snapshot started during the lag goes first; the change is applied after it.
      while (inst.status === "backing-up" && inst.pendingPassword === password) await this.sleep(25);
      if (inst.status !== "available" || inst.pendingPassword !== password) return;
      inst.status = applying;
      await this.sleep(this.delays.modifyDelayMs - (Date.now() - started));
      if (inst.status !== applying) return;
      const stall = this.faults.stalled("modify", inst.id);
      if (stall) {
        if (stall.status) inst.status = stall.status;
        return;
      }
      const cluster = inst.cluster!;
      await this.serialize(inst, () => setRolePassword(cluster.port, inst.adminPassword, inst.masterUsername, password));
      if (inst.status !== applying) return;
      inst.password = password;
      inst.pendingPassword = undefined;
      inst.status = "available";
    } catch (e) {
      if (this.closed || inst.status !== applying) return;
      inst.status = "failed";
      inst.failure = String(e);
    }
  }

  deleteInstance(inst: InstanceState, opts: { finalSnapshotId?: string; deleteAutomatedBackups: boolean }): void {
    const final = opts.finalSnapshotId ? this.newSnapshot(inst, opts.finalSnapshotId, "manual", []) : undefined;
    inst.status = "deleting";
    this.faults.claimNext("delete", inst.id);
    this.track(this.runDelete(inst, final, opts.deleteAutomatedBackups));
  }

  private async runDelete(inst: InstanceState, final: SnapshotState | undefined, deleteAutomated: boolean): Promise<void> {
    const started = Date.now();
    try {
      await inst.ready;
      if (final) {
        try {
          await this.copyToSnapshot(inst, final);
          final.status = "available";
          final.percentProgress = 100;
        } catch (e) {
          final.status = "failed";
          final.failure = String(e);
        }
      }
      const stall = this.faults.stalled("delete", inst.id);
      if (stall) {
        if (stall.status) inst.status = stall.status;
        return;
      }
      const cluster = inst.cluster;
      if (cluster) await this.serialize(inst, () => this.destroyCluster(cluster));
      inst.cluster = undefined;
      await this.sleep(this.delays.deleteDelayMs - (Date.now() - started));
      if (this.instances.get(inst.id) === inst) this.instances.delete(inst.id);
      if (deleteAutomated) {
        for (const s of [...this.snapshots.values()]) if (s.instanceId === inst.id && s.type === "automated") await this.deleteSnapshot(s);
      }
    } catch (e) {
      if (this.closed) return;
      inst.status = "failed";
      inst.failure = String(e);
    }
  }

  async deleteSnapshot(s: SnapshotState): Promise<void> {
    this.snapshots.delete(s.id);
    if (s.dataDir) await rm(join(s.dataDir, ".."), { recursive: true, force: true });
  }

  /** Applies the end of a phase unless it is stalled (then the instance keeps its status, or takes the stall's). */
  private finish(inst: InstanceState, phase: Phase, whileStatus: string, apply: () => void): void {
    if (inst.status !== whileStatus) return;
    const stall = this.faults.stalled(phase, inst.id);
    if (!stall) apply();
    else if (stall.status) inst.status = stall.status;
  }

  // ---- password record ----

  lastPasswordSetFor(instanceId: string): string | undefined {
    return this.passwords.get(instanceId.toLowerCase());
  }

  // ---- views ----

  instanceInfo(i: InstanceState): InstanceInfo {
    const port = i.cluster?.port;
    const password = i.password;
    return {
      id: i.id,
      arn: i.arn,
      status: i.status,
      tags: Object.fromEntries(i.tags.map((t) => [t.Key, t.Value])),
      tagList: i.tags.map((t) => ({ ...t })),
      host: "127.0.0.1",
      port,
      masterUsername: i.masterUsername,
      password,
      passwordPending: i.pendingPassword !== undefined,
      dbName: i.dbName,
      engineVersion: i.engineVersion,
      instanceClass: i.instanceClass,
      storageType: i.storageType,
      vpcSecurityGroupIds: [...i.vpcSecurityGroupIds],
      subnetGroupName: i.subnetGroupName,
      publiclyAccessible: i.publiclyAccessible,
      multiAZ: i.multiAZ,
      deletionProtection: i.deletionProtection,
      restoredFrom: i.restoredFrom,
      failure: i.failure,
      url(database = i.dbName ?? "postgres") {
        if (port === undefined) throw new Error(`instance ${i.id} has no running server`);
        return `postgresql://${encodeURIComponent(i.masterUsername)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
      },
    };
  }

  snapshotInfo(s: SnapshotState): SnapshotInfo {
    return { id: s.id, arn: s.arn, instanceId: s.instanceId, type: s.type, status: s.status, createTime: s.createTime, tags: s.tags.map((t) => ({ ...t })), failure: s.failure };
  }

  // ---- plumbing ----

  record(r: RecordedRequest): void {
    this.requests.push(r);
  }

  /** Stops every server, waits for background work, removes every file. Idempotent. */
  async stop(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.abort.abort();
    }
    await Promise.allSettled([...this.tasks]);
    await Promise.allSettled([...this.live].map((c) => this.destroyCluster(c)));
    await rm(this.root, { recursive: true, force: true });
  }

  private async destroyCluster(c: PgCluster): Promise<void> {
    await c.destroy();
    this.live.delete(c);
  }

  private async newDir(kind: string, id: string): Promise<string> {
    await mkdir(join(this.root, kind), { recursive: true, mode: 0o755 });
    const dir = await mkdtemp(join(this.root, kind, `${id.replace(/[^a-zA-Z0-9-]/g, "_")}-`));
    await chmod(dir, 0o755);
    return dir;
  }

  private async sleep(ms: number): Promise<void> {
    if (this.closed) throw new Error("emulator stopped");
    if (ms > 0) await sleepFor(ms, undefined, { signal: this.abort.signal });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.tasks.add(p);
    void p.finally(() => this.tasks.delete(p)).catch(() => {});
    return p;
  }

  private serialize<T>(inst: InstanceState, work: () => Promise<T>): Promise<T> {
    const run = inst.lock.then(work, work);
    inst.lock = run.catch(() => {});
    return run;
  }
}
