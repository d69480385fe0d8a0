/**
 * `CobaltBackup`: the nightly backup on AWS as one CDK construct. The state machine is the one
 * ASL file of this package (DefinitionBody.fromFile + definitionSubstitutions), its Tasks are the
 * handler bundles built by `pnpm build` (esbuild, nodejs24.x), plus the schedule, the janitor, the
 * rule that cleans up after aborted or timed-out executions, least-privilege IAM and an alarm.
 */
import { fileURLToPath } from "node:url";
import { ArnFormat, Duration, Names, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as rds from "aws-cdk-lib/aws-rds";
import * as s3 from "aws-cdk-lib/aws-s3";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";

/** The state machine definition this construct deploys (also what the tests run). */
export const STATE_MACHINE_ASL = fileURLToPath(new URL("../../state-machine.asl.json", import.meta.url));
const HANDLERS = fileURLToPath(new URL("../handlers/", import.meta.url));

export interface CobaltBackupStore {
  /** `s3://bucket/prefix` (AWS S3), or Backblaze B2 and other S3-compatible stores with `endpoint`. */
  url: string;
  /** e.g. https://s3.eu-central-003.backblazeb2.com */
  endpoint?: string;
  region?: string;
  /** A secret `{"accessKeyId", "secretAccessKey"}` for a store IAM cannot sign for (B2). */
  credentials?: secretsmanager.ISecret;
  /** The bucket, when the store is AWS S3 in this account: the functions get access to it. */
  bucket?: s3.IBucket;
}

export interface CobaltBackupProps {
  /** The VPC of the production instance (e.g. `Vpc.fromVpcAttributes`: no lookups, so `cdk synth` needs no account). */
  vpc: ec2.IVpc;
  /** Private subnets for the temporary instance and the functions that reach it (default: the VPC's private subnets with egress). */
  subnets?: ec2.SubnetSelection;
  /** The production RDS instance whose snapshots are backed up (only described, never changed). */
  sourceInstance: string;
  /** The database to back up (default: the instance's DBName). */
  database?: string;
  store: CobaltBackupStore;
  retention: { keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number };
  /** When the backup runs (default 02:00 UTC daily). */
  schedule?: events.Schedule;
  /** The temporary instance's class (default db.t4g.medium). */
  instanceClass?: string;
  /** Units dumped (and parts verified) at once (default 8): bounded by the temporary instance's connections and CPU. */
  maxConcurrency?: number;
  /** Tables larger than this many bytes are dumped in chunks, one invocation each (default: core's, from the sizes); keep a chunk well inside 15 minutes. */
  splitLargerThan?: number;
  compression?: "zstd" | "gzip" | "none";
  /** S3 Object Lock on the store: every object kept this many days. */
  lockDays?: number;
  /**
   * age encryption: the objects are encrypted for `recipients` (public keys); `identity`, a secret
   * whose value is the private key (`AGE-SECRET-KEY-1...`), lets verify read them. Neither is ever
   * in a payload.
   */
  encryption?: { recipients: string[]; identity: secretsmanager.ISecret };
  /** A secret whose value is a `postgresql://` URL: verify on that server instead of on the temporary instance. */
  verifyScratch?: secretsmanager.ISecret;
  notify?: {
    /** A secret whose value is the webhook URL (a Slack URL is a credential). */
    webhookUrl?: secretsmanager.ISecret;
    heartbeatUrl?: string;
    /** SES: `from` must be a verified identity. */
    email?: { from: string; to: string[] };
    /** Also notify on success (default true). */
    onSuccess?: boolean;
  };
  /** Where the alarms send (default: a new topic, `alarmTopic`). */
  alarmTopic?: sns.ITopic;
}

/** Every Task's function: its placeholder in the ASL file, its bundle, and whether it reaches the temporary instance (then it runs in the VPC). */
const FUNCTIONS = [
  { key: "FindSnapshot", bundle: "find-snapshot", inVpc: false },
  { key: "StartRestore", bundle: "start-restore", inVpc: false },
  { key: "DescribeInstance", bundle: "describe-instance", inVpc: false },
  { key: "PrepareInstance", bundle: "prepare-instance", inVpc: false },
  { key: "Plan", bundle: "plan", inVpc: true },
  { key: "DumpUnit", bundle: "dump-unit", inVpc: true },
  { key: "Commit", bundle: "commit", inVpc: false },
  { key: "PrepareVerify", bundle: "verify-prepare", inVpc: true },
  { key: "VerifyPart", bundle: "verify-part", inVpc: true },
  { key: "VerifyPostData", bundle: "verify-post-data", inVpc: true },
  { key: "FinishVerify", bundle: "verify-finish", inVpc: true },
  { key: "DeleteInstance", bundle: "delete-instance", inVpc: false },
  { key: "Retention", bundle: "retention", inVpc: false },
  { key: "Notify", bundle: "notify", inVpc: false },
] as const;
type FunctionKey = (typeof FUNCTIONS)[number]["key"];

export class CobaltBackup extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<FunctionKey, lambda.Function>;
  readonly janitor: lambda.Function;
  readonly executionCleanup: lambda.Function;
  /** Holds the Distributed Maps' item lists and results (small objects, expired after a week). */
  readonly stagingBucket: s3.Bucket;
  /** The temporary instance's security group: it admits only the functions in the VPC. */
  readonly instanceSecurityGroup: ec2.SecurityGroup;
  readonly functionSecurityGroup: ec2.SecurityGroup;
  readonly alarmTopic: sns.ITopic;
  readonly executionsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: CobaltBackupProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const subnets = props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    const rdsArn = (resource: string, name: string) => stack.formatArn({ service: "rds", resource, resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const tempDb = rdsArn("db", "cobalt-tmp-*");
    const tempSecrets = stack.formatArn({ service: "secretsmanager", resource: "secret", resourceName: "cobalt-backup/cobalt-tmp-*", arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const isTemporary = { StringEquals: { "rds:db-tag/cobalt-backup:temporary": "true" } };

    this.stagingBucket = new s3.Bucket(this, "Staging", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(7) }],
    });
    this.functionSecurityGroup = new ec2.SecurityGroup(this, "FunctionSecurityGroup", { vpc: props.vpc, description: "cobalt-backup functions that reach the temporary instance", allowAllOutbound: true });
    this.instanceSecurityGroup = new ec2.SecurityGroup(this, "InstanceSecurityGroup", { vpc: props.vpc, description: "cobalt-backup temporary instance: only its functions", allowAllOutbound: false });
    this.instanceSecurityGroup.addIngressRule(this.functionSecurityGroup, ec2.Port.tcp(5432), "PostgreSQL from cobalt-backup functions");
    const subnetGroup = new rds.SubnetGroup(this, "InstanceSubnets", { vpc: props.vpc, vpcSubnets: subnets, description: "cobalt-backup temporary instance" });

    const storeEnv: Record<string, string> = {
      STORE_URL: props.store.url,
      ...(props.store.endpoint ? { STORE_ENDPOINT: props.store.endpoint } : {}),
      ...(props.store.region ? { STORE_REGION: props.store.region } : {}),
      ...(props.store.credentials ? { STORE_CREDENTIALS_SECRET: props.store.credentials.secretArn } : {}),
    };
    const dumpEnv: Record<string, string> = {
      MAX_CONCURRENCY: String(props.maxConcurrency ?? 8),
      ...(props.compression ? { COMPRESSION: props.compression } : {}),
      ...(props.splitLargerThan ? { SPLIT_LARGER_THAN: String(props.splitLargerThan) } : {}),
      ...(props.lockDays ? { LOCK_DAYS: String(props.lockDays) } : {}),
      ...(props.encryption ? { AGE_RECIPIENTS: props.encryption.recipients.join(",") } : {}),
    };
    const verifyEnv: Record<string, string> = {
      ...storeEnv,
      ...(props.encryption ? { AGE_IDENTITY_SECRET: props.encryption.identity.secretArn } : {}),
      ...(props.verifyScratch ? { VERIFY_SCRATCH_SECRET: props.verifyScratch.secretArn } : {}),
    };
    const env: Record<FunctionKey, Record<string, string>> = {
      FindSnapshot: { SOURCE_INSTANCE: props.sourceInstance, ...(props.database ? { DATABASE: props.database } : {}) },
      StartRestore: { SUBNET_GROUP: subnetGroup.subnetGroupName, SECURITY_GROUP_IDS: this.instanceSecurityGroup.securityGroupId, ...(props.instanceClass ? { INSTANCE_CLASS: props.instanceClass } : {}) },
      DescribeInstance: {},
      PrepareInstance: {},
      Plan: { ...storeEnv, ...dumpEnv, STAGING_BUCKET: this.stagingBucket.bucketName },
      DumpUnit: { ...storeEnv, ...dumpEnv },
      Commit: { ...storeEnv },
      PrepareVerify: { ...verifyEnv, STAGING_BUCKET: this.stagingBucket.bucketName },
      VerifyPart: verifyEnv,
      VerifyPostData: verifyEnv,
      FinishVerify: verifyEnv,
      DeleteInstance: {},
      Retention: { ...storeEnv, RETENTION: JSON.stringify(props.retention) },
      Notify: {
        ...storeEnv,
        SOURCE_INSTANCE: props.sourceInstance,
        NOTIFY_ON_SUCCESS: String(props.notify?.onSuccess ?? true),
        ...(props.notify?.webhookUrl ? { NOTIFY_WEBHOOK_SECRET: props.notify.webhookUrl.secretArn } : {}),
        ...(props.notify?.heartbeatUrl ? { NOTIFY_HEARTBEAT_URL: props.notify.heartbeatUrl } : {}),
        ...(props.notify?.email ? { NOTIFY_EMAIL_FROM: props.notify.email.from, NOTIFY_EMAIL_TO: props.notify.email.to.join(",") } : {}),
      },
    };

    const fn = (id: string, bundle: string, environment: Record<string, string>, inVpc: boolean, heavy = false) =>
      new lambda.Function(this, id, {
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        handler: "index.handler",
        code: lambda.Code.fromAsset(`${HANDLERS}${bundle}`),
        memorySize: heavy ? 1769 : 256,
        timeout: heavy ? Duration.minutes(15) : Duration.minutes(5),
        environment,
        ...(inVpc ? { vpc: props.vpc, vpcSubnets: subnets, securityGroups: [this.functionSecurityGroup] } : {}),
      });
    this.functions = Object.fromEntries(FUNCTIONS.map((f) => [f.key, fn(f.key, f.bundle, env[f.key], f.inVpc, f.inVpc || f.key === "Commit")])) as Record<FunctionKey, lambda.Function>;
    const f = this.functions;

    // Least privilege, per function.
    const allow = (target: lambda.Function, actionsList: string[], resources: string[], conditions?: Record<string, unknown>) =>
      target.addToRolePolicy(new iam.PolicyStatement({ actions: actionsList, resources, ...(conditions ? { conditions } : {}) }));
    allow(f.FindSnapshot, ["rds:DescribeDBInstances"], [rdsArn("db", props.sourceInstance)]);
    allow(f.FindSnapshot, ["rds:DescribeDBSnapshots"], [rdsArn("db", props.sourceInstance), rdsArn("snapshot", "*")]);
    allow(f.StartRestore, ["rds:RestoreDBInstanceFromDBSnapshot"], [tempDb, rdsArn("snapshot", "*"), rdsArn("subgrp", "*"), rdsArn("og", "*"), rdsArn("pg", "*")]);
    allow(f.StartRestore, ["rds:AddTagsToResource", "rds:DescribeDBInstances"], [tempDb]);
    allow(f.DescribeInstance, ["rds:DescribeDBInstances"], [tempDb]);
    allow(f.PrepareInstance, ["rds:ModifyDBInstance"], [tempDb], isTemporary);
    allow(f.PrepareInstance, ["secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:TagResource"], [tempSecrets]);
    allow(f.DeleteInstance, ["rds:DescribeDBInstances"], [tempDb]);
    allow(f.DeleteInstance, ["rds:DeleteDBInstance"], [tempDb], isTemporary);
    allow(f.DeleteInstance, ["secretsmanager:DeleteSecret"], [tempSecrets]);
    for (const k of ["Plan", "DumpUnit", "PrepareVerify", "VerifyPart", "VerifyPostData", "FinishVerify"] as const) allow(f[k], ["secretsmanager:GetSecretValue"], [tempSecrets]);
    for (const k of ["PrepareVerify", "VerifyPart", "VerifyPostData", "FinishVerify"] as const) {
      props.encryption?.identity.grantRead(f[k]);
      props.verifyScratch?.grantRead(f[k]);
    }
    this.stagingBucket.grantPut(f.Plan);
    this.stagingBucket.grantPut(f.PrepareVerify);
    for (const k of ["Plan", "DumpUnit", "Commit", "PrepareVerify", "VerifyPart", "VerifyPostData", "FinishVerify", "Retention", "Notify"] as const) {
      props.store.credentials?.grantRead(f[k]);
      props.store.bucket?.grantReadWrite(f[k]);
      if (props.store.bucket) allow(f[k], ["s3:PutObjectRetention"], [props.store.bucket.arnForObjects("*")]);
    }
    props.notify?.webhookUrl?.grantRead(f.Notify);
    if (props.notify?.email) allow(f.Notify, ["ses:SendEmail"], ["*"], { StringEquals: { "ses:FromAddress": props.notify.email.from } });

    // Janitor and the failure rule's target: list every instance, delete only those tagged temporary.
    const cleaner = (id: string, bundle: string) => {
      const c = fn(id, bundle, {}, false);
      allow(c, ["rds:DescribeDBInstances"], [rdsArn("db", "*")]);
      allow(c, ["rds:DeleteDBInstance"], [rdsArn("db", "*")], isTemporary);
      allow(c, ["secretsmanager:DeleteSecret"], [tempSecrets]);
      return c;
    };
    this.janitor = cleaner("Janitor", "janitor");
    this.executionCleanup = cleaner("ExecutionCleanup", "execution-cleanup");

    const stateMachineName = Names.uniqueResourceName(this, { maxLength: 80, separator: "-" });
    this.stateMachine = new sfn.StateMachine(this, "StateMachine", {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(STATE_MACHINE_ASL),
      definitionSubstitutions: {
        ...Object.fromEntries(FUNCTIONS.map((x) => [`${x.key}Function`, f[x.key].functionArn])),
        StagingBucket: this.stagingBucket.bucketName,
        MaxConcurrency: String(props.maxConcurrency ?? 8),
        PollSeconds: "60",
        MaxPolls: "180",
      },
    });
    for (const x of FUNCTIONS) f[x.key].grantInvoke(this.stateMachine);
    // Distributed Map: child executions of itself, items read from and results written to the staging bucket.
    const own = stack.formatArn({ service: "states", resource: "stateMachine", resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const executions = stack.formatArn({ service: "states", resource: "execution", resourceName: `${stateMachineName}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["states:StartExecution"], resources: [own] }));
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["states:DescribeExecution", "states:StopExecution"], resources: [executions] }));
    this.stagingBucket.grantRead(this.stateMachine);
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"], resources: [this.stagingBucket.arnForObjects("*")] }));

    new events.Rule(this, "Schedule", { description: "cobalt-backup nightly run", schedule: props.schedule ?? events.Schedule.cron({ minute: "0", hour: "2" }), targets: [new targets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject({}) })] });
    new events.Rule(this, "JanitorSchedule", { description: "cobalt-backup: delete expired temporary instances", schedule: events.Schedule.rate(Duration.hours(1)), targets: [new targets.LambdaFunction(this.janitor)] });
    new events.Rule(this, "FailureRule", {
      description: "cobalt-backup: delete the temporary instance of an execution that was aborted or timed out (no Catch runs then)",
      eventPattern: { source: ["aws.states"], detailType: ["Step Functions Execution Status Change"], detail: { status: ["ABORTED", "TIMED_OUT"], stateMachineArn: [this.stateMachine.stateMachineArn] } },
      targets: [new targets.LambdaFunction(this.executionCleanup, { retryAttempts: 8 })],
    });

    this.alarmTopic = props.alarmTopic ?? new sns.Topic(this, "AlarmTopic", { displayName: "cobalt-backup alarms" });
    const period = Duration.minutes(5);
    this.executionsAlarm = new cloudwatch.Alarm(this, "ExecutionsAlarm", {
      alarmDescription: "cobalt-backup: an execution failed, timed out or was aborted",
      metric: new cloudwatch.MathExpression({
        expression: "failed + timedOut + aborted",
        usingMetrics: { failed: this.stateMachine.metricFailed({ period }), timedOut: this.stateMachine.metricTimedOut({ period }), aborted: this.stateMachine.metricAborted({ period }) },
        period,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const cleanupAlarm = new cloudwatch.Alarm(this, "CleanupAlarm", {
      alarmDescription: "cobalt-backup: the janitor or the failure rule's cleanup failed; a temporary instance may remain",
      metric: new cloudwatch.MathExpression({ expression: "janitor + cleanup", usingMetrics: { janitor: this.janitor.metricErrors({ period }), cleanup: this.executionCleanup.metricErrors({ period }) }, period }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const a of [this.executionsAlarm, cleanupAlarm]) a.addAlarmAction(new actions.SnsAction(this.alarmTopic));
  }
}
