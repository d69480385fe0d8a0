/** The RDS actions: request validation with RDS's error codes and messages, and the result XML. */
import type { Emulator } from "./emulator.ts";
import { validateInstanceId } from "./emulator.ts";
import { ApiError, el, opt, param, type Params, type XmlChild } from "./query-protocol.ts";
import { instanceXml, snapshotXml, tagListXml, type InstanceState, type SnapshotState, type Tag } from "./state.ts";

type Handler = (em: Emulator, p: Params) => XmlChild | undefined | Promise<XmlChild | undefined>;

const notFound = (id: string) => new ApiError("DBInstanceNotFound", `DBInstance ${id} not found.`);
const snapshotNotFound = (id: string) => new ApiError("DBSnapshotNotFound", `DBSnapshot not found: ${id}`);
const ARN_RE = /^arn:aws[a-z-]*:rds:[^:]*:\d*:(db|snapshot):(.+)$/;

function findInstance(em: Emulator, idOrArn: string): InstanceState | undefined {
  const arn = ARN_RE.exec(idOrArn);
  if (arn && arn[1] !== "db") return undefined;
  return em.instances.get((arn ? arn[2]! : idOrArn).toLowerCase());
}

function findSnapshot(em: Emulator, idOrArn: string): SnapshotState | undefined {
  const arn = ARN_RE.exec(idOrArn);
  if (arn && arn[1] !== "snapshot") return undefined;
  return em.snapshots.get((arn ? arn[2]! : idOrArn).toLowerCase());
}

function instanceParam(em: Emulator, p: Params): InstanceState {
  const id = param.required(p, "DBInstanceIdentifier");
  return findInstance(em, id) ?? (() => { throw notFound(id); })();
}

function tagsParam(p: Params, key = "Tags"): Tag[] {
  return param.structList(p, key).map((t) => {
    const Key = param.str(t, "Key");
    if (!Key) throw new ApiError("InvalidParameterValue", "Tag keys must be non-empty");
    return { Key, Value: param.str(t, "Value") ?? "" };
  });
}

function filtersParam(p: Params, known: Record<string, true>): { name: string; values: string[] }[] {
  return param.structList(p, "Filters").map((f) => {
    const name = param.str(f, "Name") ?? "";
    if (!known[name]) throw new ApiError("InvalidParameterValue", `Unrecognized filter name: ${name}`);
    return { name, values: param.strList(f, "Values") };
  });
}

/** One page and the next Marker (opaque: the offset), honouring MaxRecords (20..100) and the emulator's page size. */
function paginate<T>(em: Emulator, items: T[], p: Params): { items: T[]; marker?: string } {
  const max = param.int(p, "MaxRecords");
  if (max !== undefined && (!Number.isInteger(max) || max < 20 || max > 100)) throw new ApiError("InvalidParameterValue", `Invalid value ${max} for MaxRecords. Must be between 20 and 100`);
  const size = Math.max(1, Math.min(max ?? 100, em.pageSize));
  const marker = param.str(p, "Marker");
  const start = marker ? Number(Buffer.from(marker, "base64url").toString("utf8").replace(/^offset:/, "")) : 0;
  if (!Number.isInteger(start) || start < 0) throw new ApiError("InvalidParameterValue", `Invalid marker: ${marker}`);
  const end = start + size;
  return { items: items.slice(start, end), marker: end < items.length ? Buffer.from(`offset:${end}`).toString("base64url") : undefined };
}

function resource(em: Emulator, p: Params): { tags: Tag[]; set(tags: Tag[]): void } {
  const name = param.required(p, "ResourceName");
  const arn = ARN_RE.exec(name);
  if (!arn) throw new ApiError("InvalidParameterValue", `Invalid resource name: ${name}`);
  if (arn[1] === "db") {
    const i = findInstance(em, name) ?? (() => { throw notFound(arn[2]!); })();
    return { tags: i.tags, set: (t) => (i.tags = t) };
  }
  const s = findSnapshot(em, name) ?? (() => { throw snapshotNotFound(arn[2]!); })();
  return { tags: s.tags, set: (t) => (s.tags = t) };
}

const PASSWORD_RE = /^[\x21-\x7e]{8,128}$/;
const SNAPSHOT_ID_RE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MODIFIABLE = new Set(["DBInstanceIdentifier", "MasterUserPassword", "ApplyImmediately", "DeletionProtection"]);

export const rdsActions: Record<string, Handler> = {
  DescribeDBInstances(em, p) {
    let list = [...em.instances.values()];
    const id = param.str(p, "DBInstanceIdentifier");
    if (id) list = [findInstance(em, id) ?? (() => { throw notFound(id); })()];
    for (const f of filtersParam(p, { "db-instance-id": true, engine: true, "dbi-resource-id": true, "db-cluster-id": true, domain: true })) {
      list = list.filter((i) => {
        if (f.name === "db-instance-id") return f.values.some((v) => v.toLowerCase() === i.id || v === i.arn);
        if (f.name === "engine") return f.values.includes("postgres");
        if (f.name === "dbi-resource-id") return f.values.includes(i.resourceId);
        return false;
      });
    }
    const page = paginate(em, list, p);
    return [el("DBInstances", page.items.map(instanceXml)), opt("Marker", page.marker)];
  },

  DescribeDBSnapshots(em, p) {
    let list = [...em.snapshots.values()];
    const snapId = param.str(p, "DBSnapshotIdentifier");
    if (snapId) list = [findSnapshot(em, snapId) ?? (() => { throw snapshotNotFound(snapId); })()];
    const instId = param.str(p, "DBInstanceIdentifier");
    if (instId) {
      const arn = ARN_RE.exec(instId);
      const wanted = (arn ? arn[2]! : instId).toLowerCase();
      list = list.filter((s) => s.instanceId === wanted);
    }
    const type = param.str(p, "SnapshotType");
    if (type) list = list.filter((s) => s.type === type);
    for (const f of filtersParam(p, { "db-instance-id": true, "db-snapshot-id": true, "dbi-resource-id": true, "snapshot-type": true, engine: true })) {
      list = list.filter((s) => {
        if (f.name === "db-instance-id") return f.values.some((v) => (ARN_RE.exec(v)?.[2] ?? v).toLowerCase() === s.instanceId);
        if (f.name === "db-snapshot-id") return f.values.some((v) => (ARN_RE.exec(v)?.[2] ?? v).toLowerCase() === s.id);
        if (f.name === "dbi-resource-id") return f.values.includes(s.resourceId);
        if (f.name === "snapshot-type") return f.values.includes(s.type);
        return f.values.includes("postgres");
      });
    }
    const page = paginate(em, list, p);
    return [el("DBSnapshots", page.items.map((s) => snapshotXml(s, em.region))), opt("Marker", page.marker)];
  },

  CreateDBSnapshot(em, p) {
    const snapId = param.required(p, "DBSnapshotIdentifier").toLowerCase();
    if (snapId.length > 255 || !SNAPSHOT_ID_RE.test(snapId)) throw new ApiError("InvalidParameterValue", `The parameter DBSnapshotIdentifier is not a valid identifier.`);
    const inst = instanceParam(em, p);
    if (inst.status !== "available") throw new ApiError("InvalidDBInstanceState", `Cannot create a snapshot because the database instance ${inst.id} is not currently in the available state.`);
    const snap = em.newSnapshot(inst, snapId, "manual", tagsParam(p));
    em.startManualSnapshot(inst, snap);
    return snapshotXml(snap, em.region);
  },

  async DeleteDBSnapshot(em, p) {
    const snapId = param.required(p, "DBSnapshotIdentifier");
    const snap = findSnapshot(em, snapId) ?? (() => { throw snapshotNotFound(snapId); })();
    if (snap.status !== "available" && snap.status !== "failed") throw new ApiError("InvalidDBSnapshotState", `Cannot delete the snapshot because it is ${snap.status}.`);
    if (snap.type === "automated") throw new ApiError("InvalidDBSnapshotState", "Only manual snapshots may be deleted.");
    await em.deleteSnapshot(snap);
    return snapshotXml({ ...snap, status: "deleted" }, em.region);
  },

  RestoreDBInstanceFromDBSnapshot(em, p) {
    const id = validateInstanceId(param.required(p, "DBInstanceIdentifier"));
    const snapId = param.required(p, "DBSnapshotIdentifier");
    if (em.instances.has(id)) throw new ApiError("DBInstanceAlreadyExists", "DB instance already exists");
    const snap = findSnapshot(em, snapId) ?? (() => { throw snapshotNotFound(snapId); })();
    if (snap.status !== "available") throw new ApiError("InvalidDBSnapshotState", `DBSnapshot must have state available but actually has ${snap.status}`);
    const hasTags = p.Tags !== undefined;
    const inst = em.restore(snap, {
      id,
      instanceClass: param.str(p, "DBInstanceClass"),
      subnetGroupName: param.str(p, "DBSubnetGroupName"),
      vpcSecurityGroupIds: param.strList(p, "VpcSecurityGroupIds"),
      publiclyAccessible: param.bool(p, "PubliclyAccessible"),
      multiAZ: param.bool(p, "MultiAZ"),
      deletionProtection: param.bool(p, "DeletionProtection"),
      storageType: param.str(p, "StorageType"),
      dbName: param.str(p, "DBName"),
      ...(hasTags ? { tags: tagsParam(p) } : {}),
    });
    return instanceXml(inst);
  },

  ModifyDBInstance(em, p) {
    const inst = instanceParam(em, p);
    const unsupported = Object.keys(p).filter((k) => !MODIFIABLE.has(k));
    if (unsupported.length > 0) throw new ApiError("InvalidParameterCombination", `The RDS emulator does not support modifying ${unsupported.join(", ")}`);
    if (inst.status !== "available") throw new ApiError("InvalidDBInstanceState", "Database instance is not in available state.");
    const password = param.str(p, "MasterUserPassword");
    if (password !== undefined) {
      if (!PASSWORD_RE.test(password) || /[/"@]/.test(password)) {
        throw new ApiError("InvalidParameterValue", "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '\"', ' ' may be used.");
      }
    }
    const protection = param.bool(p, "DeletionProtection");
    if (protection !== undefined) inst.deletionProtection = protection;
    if (password !== undefined) em.modifyPassword(inst, password);
    return instanceXml(inst);
  },

  DeleteDBInstance(em, p) {
    const inst = instanceParam(em, p);
    const skip = param.bool(p, "SkipFinalSnapshot") ?? false;
    const final = param.str(p, "FinalDBSnapshotIdentifier");
    if (inst.status === "deleting") throw new ApiError("InvalidDBInstanceState", `Instance ${inst.id} is already being deleted.`);
    if (inst.deletionProtection) throw new ApiError("InvalidParameterCombination", "Cannot delete protected DB Instance, please disable deletion protection and try again.");
    if (skip && final) throw new ApiError("InvalidParameterCombination", "FinalDBSnapshotIdentifier can not be specified when deleting a DB instance with SkipFinalSnapshot enabled.");
    if (!skip && !final) throw new ApiError("InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.");
    if (final && inst.status !== "available") throw new ApiError("InvalidDBInstanceState", `Instance ${inst.id} is currently ${inst.status} - a final snapshot cannot be taken.`);
    em.deleteInstance(inst, { finalSnapshotId: final?.toLowerCase(), deleteAutomatedBackups: param.bool(p, "DeleteAutomatedBackups") ?? true });
    return instanceXml(inst);
  },

  AddTagsToResource(em, p) {
    const r = resource(em, p);
    const add = tagsParam(p);
    r.set([...r.tags.filter((t) => !add.some((a) => a.Key === t.Key)), ...add]);
    return undefined;
  },

  ListTagsForResource(em, p) {
    return tagListXml(resource(em, p).tags);
  },

  RemoveTagsFromResource(em, p) {
    const r = resource(em, p);
    const keys = param.strList(p, "TagKeys");
    r.set(r.tags.filter((t) => !keys.includes(t.Key)));
    return undefined;
  },
};
