/** The emulator's model of DB instances, snapshots and security groups, and their RDS/EC2 XML shapes. */
import { randomBytes } from "node:crypto";
import type { PgCluster } from "./clusters.ts";
import { el, opt, type Xml } from "./query-protocol.ts";

export interface Tag {
  Key: string;
  Value: string;
}

export interface InstanceState {
  id: string;
  arn: string;
  resourceId: string;
  /** RDS DBInstanceStatus: creating, available, backing-up, resetting-master-credentials, deleting, failed, ... */
  status: string;
  engineVersion: string;
  instanceClass: string;
  masterUsername: string;
  dbName?: string;
  allocatedStorage: number;
  storageType: string;
  publiclyAccessible: boolean;
  multiAZ: boolean;
  deletionProtection: boolean;
  vpcSecurityGroupIds: string[];
  subnetGroupName: string;
  availabilityZone: string;
  createTime: Date;
  tags: Tag[];
  /** The master password the server accepts now. */
  password: string;
  /** A master password change accepted but not applied yet. */
  pendingPassword?: string;
  /** Password of the internal `rdsadmin` superuser (copied along with the data). */
  adminPassword: string;
  /** The running server; absent while a restore copies files, and after deletion. */
  cluster?: PgCluster;
  /** The snapshot it was restored from, if any. */
  restoredFrom?: string;
  /** Why it ended in status `failed`. */
  failure?: string;
  /** Settles when the restore's background work is over (server started or failed). */
  ready: Promise<void>;
  /** Serializes work on the server (snapshot copies, password changes, shutdown). */
  lock: Promise<unknown>;
}

export interface SnapshotState {
  id: string;
  arn: string;
  instanceId: string;
  type: "manual" | "automated";
  /** creating, available, failed */
  status: string;
  percentProgress: number;
  createTime: Date;
  instanceCreateTime: Date;
  engineVersion: string;
  masterUsername: string;
  dbName?: string;
  port: number;
  allocatedStorage: number;
  storageType: string;
  availabilityZone: string;
  resourceId: string;
  tags: Tag[];
  /** The copied data directory, once the copy is done. */
  dataDir?: string;
  /** Master and rdsadmin passwords at the time of the snapshot: a restore keeps them. */
  password: string;
  adminPassword: string;
  failure?: string;
}

export interface IngressRule {
  ruleId: string;
  groupId: string;
  protocol: string;
  fromPort: number;
  toPort: number;
  cidr: string;
  description?: string;
}

export const ACCOUNT = "123456789012";
export const VPC_ID = "vpc-0emulator";

export const instanceArn = (region: string, id: string) => `arn:aws:rds:${region}:${ACCOUNT}:db:${id}`;
export const snapshotArn = (region: string, id: string) => `arn:aws:rds:${region}:${ACCOUNT}:snapshot:${id}`;
export const newResourceId = () => `db-${randomBytes(13).toString("hex").toUpperCase()}`;
export const newRuleId = () => `sgr-${randomBytes(8).toString("hex")}`;

export const tagListXml = (tags: Tag[]): Xml => el("TagList", tags.map((t) => el("Tag", el("Key", t.Key), el("Value", t.Value))));

/** The instance has an endpoint once its server exists and it is past `creating` (as in RDS). */
const hasEndpoint = (i: InstanceState) => i.cluster !== undefined && i.status !== "creating";

export function instanceXml(i: InstanceState): Xml {
  return el(
    "DBInstance",
    el("DBInstanceIdentifier", i.id),
    el("DBInstanceClass", i.instanceClass),
    el("Engine", "postgres"),
    el("DBInstanceStatus", i.status),
    el("MasterUsername", i.masterUsername),
    opt("DBName", i.dbName),
    hasEndpoint(i) ? el("Endpoint", el("Address", "127.0.0.1"), el("Port", i.cluster!.port), el("HostedZoneId", "Z2R2ITUGPM61AM")) : undefined,
    el("AllocatedStorage", i.allocatedStorage),
    el("InstanceCreateTime", i.createTime),
    el("PreferredBackupWindow", "03:00-03:30"),
    el("BackupRetentionPeriod", 7),
    el("DBSecurityGroups"),
    el("VpcSecurityGroups", i.vpcSecurityGroupIds.map((g) => el("VpcSecurityGroupMembership", el("VpcSecurityGroupId", g), el("Status", "active")))),
    el("DBParameterGroups", el("DBParameterGroup", el("DBParameterGroupName", `default.postgres${i.engineVersion.split(".")[0]}`), el("ParameterApplyStatus", "in-sync"))),
    el("AvailabilityZone", i.availabilityZone),
    el(
      "DBSubnetGroup",
      el("DBSubnetGroupName", i.subnetGroupName),
      el("DBSubnetGroupDescription", i.subnetGroupName),
      el("VpcId", VPC_ID),
      el("SubnetGroupStatus", "Complete"),
      el("Subnets", el("Subnet", el("SubnetIdentifier", "subnet-0emulator"), el("SubnetAvailabilityZone", el("Name", i.availabilityZone)), el("SubnetStatus", "Active"))),
    ),
    el("PreferredMaintenanceWindow", "sun:05:00-sun:05:30"),
    el("PendingModifiedValues", i.pendingPassword !== undefined ? el("MasterUserPassword", "****") : undefined),
    el("MultiAZ", i.multiAZ),
    el("EngineVersion", i.engineVersion),
    el("AutoMinorVersionUpgrade", true),
    el("ReadReplicaDBInstanceIdentifiers"),
    el("LicenseModel", "postgresql-license"),
    el("PubliclyAccessible", i.publiclyAccessible),
    el("StorageType", i.storageType),
    hasEndpoint(i) ? el("DbInstancePort", 0) : undefined,
    el("StorageEncrypted", false),
    el("DbiResourceId", i.resourceId),
    el("CACertificateIdentifier", "rds-ca-rsa2048-g1"),
    el("CopyTagsToSnapshot", false),
    el("DBInstanceArn", i.arn),
    el("IAMDatabaseAuthenticationEnabled", false),
    el("PerformanceInsightsEnabled", false),
    el("DeletionProtection", i.deletionProtection),
    tagListXml(i.tags),
    el("CustomerOwnedIpEnabled", false),
    el("BackupTarget", "region"),
    el("NetworkType", "IPV4"),
  );
}

export function snapshotXml(s: SnapshotState, region: string): Xml {
  return el(
    "DBSnapshot",
    el("DBSnapshotIdentifier", s.id),
    el("DBInstanceIdentifier", s.instanceId),
    s.status === "creating" ? undefined : el("SnapshotCreateTime", s.createTime),
    el("Engine", "postgres"),
    el("AllocatedStorage", s.allocatedStorage),
    el("Status", s.status),
    el("Port", s.port),
    el("AvailabilityZone", s.availabilityZone),
    el("VpcId", VPC_ID),
    el("InstanceCreateTime", s.instanceCreateTime),
    el("MasterUsername", s.masterUsername),
    el("EngineVersion", s.engineVersion),
    el("LicenseModel", "postgresql-license"),
    el("SnapshotType", s.type),
    el("OptionGroupName", `default:postgres-${s.engineVersion.split(".")[0]}`),
    el("PercentProgress", s.percentProgress),
    el("StorageType", s.storageType),
    el("Encrypted", false),
    el("DBSnapshotArn", snapshotArn(region, s.id)),
    el("IAMDatabaseAuthenticationEnabled", false),
    el("ProcessorFeatures"),
    el("DbiResourceId", s.resourceId),
    tagListXml(s.tags),
    el("OriginalSnapshotCreateTime", s.createTime),
    el("SnapshotTarget", "region"),
  );
}
