/**
 * Issue 5, acceptance 7, and issue 13, acceptance 4: every AWS API call the code makes, and every
 * action the state machine takes itself, is allowed by docs/iam-policy.json. The calls are read
 * from the source (each `new <Name>Command(`), plus the multipart calls lib-storage's Upload makes
 * on our behalf; the state machine's from its ASL file (Task resources and Distributed Maps).
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { repoRoot } from "./support/corpus.ts";
import { mapStates, productionDefinition, testSubstitutions } from "./support/state-machine.ts";

const SOURCES = ["packages/core/src", "packages/cli/src", "packages/lambda/src"].map((d) => join(repoRoot, d));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** S3 operations map to IAM actions by name, except where AWS says otherwise. */
const S3_ACTION: Record<string, string> = {
  ListObjectsV2: "s3:ListBucket",
  ListMultipartUploads: "s3:ListBucketMultipartUploads",
  DeleteObjects: "s3:DeleteObject",
  CreateMultipartUpload: "s3:PutObject",
  UploadPart: "s3:PutObject",
  CompleteMultipartUpload: "s3:PutObject",
};
const S3_OPERATIONS = new Set(["PutObject", "GetObject", "DeleteObject", "DeleteObjects", "ListObjectsV2", "ListMultipartUploads", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload"]);
const EC2_OPERATIONS = /SecurityGroup/;
const SES_OPERATIONS = new Set(["SendEmail"]);
const SECRETS_OPERATIONS = /Secret/;

/** The actions the state machine's role needs for what the definition does itself. */
function stateMachineActions(): string[] {
  const def = productionDefinition(testSubstitutions());
  const resources = JSON.stringify(def).match(/"Resource":"[^"]+"/g) ?? [];
  const out = new Set<string>();
  for (const r of resources.map((x) => x.slice(12, -1))) {
    if (r.startsWith("arn:aws:lambda:")) out.add("lambda:InvokeFunction");
    const sdk = /^arn:aws:states:::([a-z0-9]+):(\w+)$/.exec(r);
    if (sdk) out.add(`${sdk[1]}:${sdk[2]![0]!.toUpperCase()}${sdk[2]!.slice(1)}`);
  }
  // A Distributed Map starts, watches and stops child executions; its ResultWriter uploads in parts.
  if (mapStates(def).some(([, m]) => (m.ItemProcessor as { ProcessorConfig?: { Mode?: string } }).ProcessorConfig?.Mode === "DISTRIBUTED")) {
    ["states:StartExecution", "states:DescribeExecution", "states:StopExecution", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"].forEach((a) => out.add(a));
  }
  return [...out];
}

it("docs/iam-policy.json allows every AWS action the code and the state machine take", () => {
  const calls = new Set<string>();
  for (const f of SOURCES.flatMap(files)) {
    for (const m of readFileSync(f, "utf8").matchAll(/new (\w+)Command\(/g)) calls.add(m[1]!);
    if (/new Upload\(/.test(readFileSync(f, "utf8"))) ["CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload"].forEach((c) => calls.add(c));
  }
  expect(calls).toContain("RestoreDBInstanceFromDBSnapshot");
  expect(calls).toContain("AuthorizeSecurityGroupIngress");
  expect(calls).toContain("PutObject");
  expect(calls).toContain("PutSecretValue");
  const actions = [...calls].map((c) =>
    S3_OPERATIONS.has(c) ? S3_ACTION[c] ?? `s3:${c}` : EC2_OPERATIONS.test(c) ? `ec2:${c}` : SES_OPERATIONS.has(c) ? `ses:${c}` : SECRETS_OPERATIONS.test(c) ? `secretsmanager:${c}` : `rds:${c}`,
  );
  const sfn = stateMachineActions();
  expect(sfn).toEqual(expect.arrayContaining(["lambda:InvokeFunction", "s3:GetObject", "s3:PutObject", "states:StartExecution"]));
  // Tags passed at restore or snapshot time are applied with AddTagsToResource, and at CreateSecret with TagResource; Object Lock needs PutObjectRetention.
  actions.push("rds:AddTagsToResource", "s3:PutObjectRetention", "secretsmanager:TagResource", ...sfn);
  const policy = JSON.parse(readFileSync(join(repoRoot, "docs/iam-policy.json"), "utf8")) as { Statement: { Action: string[] }[] };
  const allowed = new Set(policy.Statement.flatMap((s) => s.Action));
  expect(actions.filter((a) => !allowed.has(a))).toEqual([]);
});

it("allows what the unit and verify handlers do: the Map items put in the staging bucket, the verify secrets read", () => {
  const handlers = join(repoRoot, "packages/lambda/src");
  const text = (f: string) => readFileSync(join(handlers, f), "utf8");
  // Plan and PrepareVerify stage the Maps' items (PutObject); the verify states read the age identity and a scratch server's URL (GetSecretValue).
  for (const h of ["handlers/plan.ts", "handlers/verify-prepare.ts"]) expect(text(h)).toContain("stageItems(");
  expect(text("lib/staging.ts")).toMatch(/new PutObjectCommand\(/);
  expect(text("lib/verify-target.ts")).toMatch(/new GetSecretValueCommand\(/);
  const policy = JSON.parse(readFileSync(join(repoRoot, "docs/iam-policy.json"), "utf8")) as { Statement: { Action: string[]; Resource: string | string[] }[] };
  const allows = (action: string, resource: RegExp) => policy.Statement.some((s) => s.Action.includes(action) && [s.Resource].flat().some((r) => resource.test(r)));
  expect(allows("s3:PutObject", /cobalt-backup-staging-\*\/runs\/\*$/)).toBe(true);
  expect(allows("secretsmanager:GetSecretValue", /secret:cobalt-backup\/age-identity\*$/)).toBe(true);
  expect(allows("secretsmanager:GetSecretValue", /secret:cobalt-backup\/verify-scratch\*$/)).toBe(true);
  expect(allows("secretsmanager:GetSecretValue", /secret:cobalt-backup\/cobalt-tmp-\*$/)).toBe(true);
});
