/**
 * Issue 13, acceptance 4: the CDK construct's template (runtime, private subnets, the state
 * machine from the ASL file, schedule, janitor, failure rule, alarm, least privilege), and
 * `cdk synth` of examples/cdk offline: the aws-cdk CLI from npm, no AWS credentials.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { CobaltBackup, STATE_MACHINE_ASL } from "@cobalt-backup/lambda";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./support/corpus.ts";
import { ASL_PATH, placeholders } from "./support/state-machine.ts";

const PRIVATE = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"];
const outdir = mkdtempSync(join(tmpdir(), "cobalt-cdk-"));
const app = new App({ outdir });
const stack = new Stack(app, "Test");
const vpc = ec2.Vpc.fromVpcAttributes(stack, "Vpc", { vpcId: "vpc-0123456789abcdef0", availabilityZones: ["eu-central-1a", "eu-central-1b"], privateSubnetIds: PRIVATE, privateSubnetRouteTableIds: ["rtb-1", "rtb-2"] });
const backup = new CobaltBackup(stack, "Nightly", {
  vpc,
  subnets: { subnets: vpc.privateSubnets },
  sourceInstance: "production-blue",
  store: { url: "s3://cobalt-offsite/nightly", endpoint: "https://s3.eu-central-003.backblazeb2.com", region: "eu-central-003", credentials: secretsmanager.Secret.fromSecretNameV2(stack, "B2", "cobalt-backup/b2-key") },
  retention: { keepDaily: 7 },
  notify: { email: { from: "backups@cobalt.example", to: ["ops@cobalt.example"] } },
});
const template = Template.fromStack(stack);
type Resource = { Type: string; Properties: Record<string, unknown> };
const resources = (type: string) => Object.entries(template.findResources(type)) as [string, Resource][];
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
/** Every IAM statement of the roles the construct made, flattened. */
const statements = () => resources("AWS::IAM::Policy").flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] }).Statement);

describe("the CobaltBackup construct", () => {
  it("runs every function on nodejs24.x, from the handler bundles", () => {
    const fns = resources("AWS::Lambda::Function");
    expect(fns).toHaveLength(Object.keys(backup.functions).length + 2);
    for (const [id, f] of fns) expect(f.Properties.Runtime, id).toBe("nodejs24.x");
    template.hasResourceProperties("AWS::Lambda::Function", { Handler: "index.handler", Architectures: ["arm64"] });
  });

  it("puts the functions that reach the temporary instance in the private subnets, and the instance behind a security group only they pass", () => {
    const inVpc = ["Plan", "DumpUnit", "PrepareVerify", "VerifyPart", "VerifyPostData", "FinishVerify"] as const;
    const fns = Object.fromEntries(resources("AWS::Lambda::Function"));
    for (const k of inVpc) {
      expect(fns[logicalId(backup.functions[k])]!.Properties.VpcConfig, k).toEqual({ SubnetIds: PRIVATE, SecurityGroupIds: [{ "Fn::GetAtt": [logicalId(backup.functionSecurityGroup), "GroupId"] }] });
    }
    for (const k of ["FindSnapshot", "StartRestore", "DeleteInstance", "Notify"] as const) expect(fns[logicalId(backup.functions[k])]!.Properties.VpcConfig, k).toBeUndefined();
    template.hasResourceProperties("AWS::RDS::DBSubnetGroup", { SubnetIds: PRIVATE });
    template.hasResourceProperties("AWS::EC2::SecurityGroupIngress", { IpProtocol: "tcp", FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: { "Fn::GetAtt": [logicalId(backup.functionSecurityGroup), "GroupId"] } });
  });

  it("deploys the state machine from the ASL file, every placeholder substituted", () => {
    const [[, sm]] = resources("AWS::StepFunctions::StateMachine") as [[string, Resource]];
    expect(sm.Properties.StateMachineType).toBe("STANDARD");
    expect(sm.Properties.DefinitionS3Location).toBeDefined();
    expect(Object.keys(sm.Properties.DefinitionSubstitutions as object).sort()).toEqual(placeholders());
    expect((sm.Properties.DefinitionSubstitutions as Record<string, unknown>).DumpUnitFunction).toEqual({ "Fn::GetAtt": [logicalId(backup.functions.DumpUnit), "Arn"] });
    // The uploaded definition is the file, byte for byte.
    expect(STATE_MACHINE_ASL).toBe(ASL_PATH);
    const assembly = app.synth();
    const key = (sm.Properties.DefinitionS3Location as { Key: string }).Key;
    expect(readFileSync(join(assembly.directory, `asset.${key}`), "utf8")).toBe(readFileSync(ASL_PATH, "utf8"));
  });

  it("wires every unit and verify state to its handler, with its settings and nothing secret in the environment", () => {
    const fns = Object.fromEntries(resources("AWS::Lambda::Function"));
    const envOf = (k: keyof typeof backup.functions) => (fns[logicalId(backup.functions[k])]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    // Each function has its own bundle (the construct's asset per handler directory).
    const assets = Object.keys(backup.functions).map((k) => JSON.stringify(fns[logicalId(backup.functions[k as keyof typeof backup.functions])]!.Properties.Code));
    expect(new Set(assets).size).toBe(assets.length);
    expect(envOf("Plan")).toMatchObject({ STAGING_BUCKET: { Ref: expect.any(String) }, MAX_CONCURRENCY: "8", STORE_URL: "s3://cobalt-offsite/nightly" });
    expect(envOf("DumpUnit")).toMatchObject({ MAX_CONCURRENCY: "8", STORE_URL: "s3://cobalt-offsite/nightly" });
    expect(envOf("PrepareVerify")).toMatchObject({ STAGING_BUCKET: { Ref: expect.any(String) } });
    for (const k of ["Plan", "DumpUnit", "Commit", "PrepareVerify", "VerifyPart", "VerifyPostData", "FinishVerify"] as const) expect(JSON.stringify(envOf(k)), k).not.toMatch(/PASSWORD|SECRET-KEY|postgresql:\/\//i);
  });

  it("with encryption and a scratch server: recipients to the dump, the identity's and the URL's secrets readable by the verify states only", () => {
    const s2 = new Stack(new App(), "Encrypted");
    const v2 = ec2.Vpc.fromVpcAttributes(s2, "Vpc", { vpcId: "vpc-0123456789abcdef0", availabilityZones: ["eu-central-1a", "eu-central-1b"], privateSubnetIds: PRIVATE, privateSubnetRouteTableIds: ["rtb-1", "rtb-2"] });
    const identity = secretsmanager.Secret.fromSecretCompleteArn(s2, "Identity", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:cobalt-backup/age-identity-AbCdEf");
    const scratch = secretsmanager.Secret.fromSecretCompleteArn(s2, "Scratch", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:cobalt-backup/verify-scratch-AbCdEf");
    const b2 = new CobaltBackup(s2, "Nightly", { vpc: v2, subnets: { subnets: v2.privateSubnets }, sourceInstance: "production-blue", store: { url: "s3://cobalt-offsite/nightly" }, retention: { keepLast: 3 }, splitLargerThan: 1024 ** 3, encryption: { recipients: ["age1exampleexampleexample"], identity }, verifyScratch: scratch });
    const t2 = Template.fromStack(s2);
    const fns2 = t2.findResources("AWS::Lambda::Function");
    const env2 = (k: keyof typeof b2.functions) => (fns2[s2.getLogicalId(b2.functions[k].node.defaultChild as never)]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env2("Plan")).toMatchObject({ AGE_RECIPIENTS: "age1exampleexampleexample", SPLIT_LARGER_THAN: String(1024 ** 3) });
    expect(env2("DumpUnit")).toMatchObject({ AGE_RECIPIENTS: "age1exampleexampleexample" });
    for (const k of ["PrepareVerify", "VerifyPart", "VerifyPostData", "FinishVerify"] as const) expect(env2(k), k).toMatchObject({ AGE_IDENTITY_SECRET: identity.secretArn, VERIFY_SCRATCH_SECRET: scratch.secretArn });
    const readers = Object.entries(t2.findResources("AWS::IAM::Policy"))
      .filter(([, p]) => JSON.stringify(p).includes("age-identity"))
      .flatMap(([, p]) => (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.map((r) => r.Ref));
    const roleOf = (k: keyof typeof b2.functions) => s2.getLogicalId(b2.functions[k].role!.node.defaultChild as never);
    expect(readers.sort()).toEqual((["PrepareVerify", "VerifyPart", "VerifyPostData", "FinishVerify"] as const).map(roleOf).sort());
  });

  it("schedules the run and the janitor, and sends aborted or timed-out executions to the cleanup", () => {
    template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "cron(0 2 * * ? *)", Targets: [Match.objectLike({ Arn: { Ref: logicalId(backup.stateMachine) } })] });
    template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(1 hour)", Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [logicalId(backup.janitor), "Arn"] } })] });
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { source: ["aws.states"], "detail-type": ["Step Functions Execution Status Change"], detail: { status: ["ABORTED", "TIMED_OUT"], stateMachineArn: [{ Ref: logicalId(backup.stateMachine) }] } },
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [logicalId(backup.executionCleanup), "Arn"] } })],
    });
  });

  it("alarms on failed, timed-out and aborted executions", () => {
    const [, alarm] = resources("AWS::CloudWatch::Alarm").find(([id]) => id === logicalId(backup.executionsAlarm))!;
    const metrics = (alarm.Properties.Metrics as { MetricStat?: { Metric: { MetricName: string } } }[]).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : []));
    expect(metrics.sort()).toEqual(["ExecutionsAborted", "ExecutionsFailed", "ExecutionsTimedOut"]);
    expect(alarm.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: "GreaterThanOrEqualToThreshold", AlarmActions: [{ Ref: logicalId(backup.alarmTopic as never) }] });
  });

  it("grants least privilege: no wildcard actions, deletes and modifies only instances tagged temporary", () => {
    const all = statements();
    const actionsOf = (s: (typeof all)[number]) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
    expect(all.flatMap(actionsOf).filter((a) => a === "*" || a.endsWith(":*"))).toEqual([]);
    for (const s of all.filter((x) => actionsOf(x).some((a) => a === "rds:DeleteDBInstance" || a === "rds:ModifyDBInstance"))) {
      expect(s.Condition).toEqual({ StringEquals: { "rds:db-tag/cobalt-backup:temporary": "true" } });
    }
    const rdsWrites = all.filter((x) => actionsOf(x).some((a) => /^rds:(Restore|Modify|Delete)/.test(a)) && !actionsOf(x).includes("rds:DeleteDBInstance"));
    for (const s of rdsWrites) expect(JSON.stringify(s.Resource)).toContain("cobalt-tmp-*");
    // Distributed Map: the state machine starts its own child executions and reads and writes only the staging bucket.
    expect(all.flatMap(actionsOf)).toEqual(expect.arrayContaining(["states:StartExecution", "states:DescribeExecution", "states:StopExecution", "lambda:InvokeFunction"]));
    rmSync(outdir, { recursive: true, force: true });
  });
});

describe("examples/cdk", () => {
  it("synthesizes offline with the aws-cdk CLI: no account, no credentials, no lookups", () => {
    const out = mkdtempSync(join(tmpdir(), "cobalt-cdk-synth-"));
    const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: out, AWS_EC2_METADATA_DISABLED: "true", CDK_DISABLE_VERSION_CHECK: "true" };
    const cwd = join(repoRoot, "examples/cdk");
    const r = spawnSync(join(cwd, "node_modules/.bin/cdk"), ["synth", "--no-notices", "--no-version-reporting", "--no-lookups", "-q", "-o", out], { cwd, env, encoding: "utf8", timeout: 170_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const t = JSON.parse(readFileSync(join(out, "CobaltBackup.template.json"), "utf8")) as { Resources: Record<string, Resource> };
    const types = Object.values(t.Resources).map((x) => x.Type);
    expect(types.filter((x) => x === "AWS::StepFunctions::StateMachine")).toHaveLength(1);
    expect(Object.values(t.Resources).filter((x) => x.Type === "AWS::Lambda::Function").every((x) => x.Properties.Runtime === "nodejs24.x")).toBe(true);
    expect(JSON.stringify(t)).toContain("subnet-0aaaaaaaaaaaaaaa1");
    rmSync(out, { recursive: true, force: true });
  });
});
