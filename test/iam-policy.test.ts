/**
 * Issue 5, acceptance 7: every AWS API call the code makes is allowed by docs/iam-policy.json.
 * The calls are read from the source (each `new <Name>Command(`), plus the multipart calls
 * lib-storage's Upload makes on our behalf.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { repoRoot } from "./support/corpus.ts";

const SOURCES = ["packages/core/src", "packages/cli/src"].map((d) => join(repoRoot, d));

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

it("docs/iam-policy.json allows every AWS action the code calls", () => {
  const calls = new Set<string>();
  for (const f of SOURCES.flatMap(files)) {
    for (const m of readFileSync(f, "utf8").matchAll(/new (\w+)Command\(/g)) calls.add(m[1]!);
    if (/new Upload\(/.test(readFileSync(f, "utf8"))) ["CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload"].forEach((c) => calls.add(c));
  }
  expect(calls).toContain("RestoreDBInstanceFromDBSnapshot");
  expect(calls).toContain("AuthorizeSecurityGroupIngress");
  expect(calls).toContain("PutObject");
  const actions = [...calls].map((c) => (S3_OPERATIONS.has(c) ? S3_ACTION[c] ?? `s3:${c}` : EC2_OPERATIONS.test(c) ? `ec2:${c}` : SES_OPERATIONS.has(c) ? `ses:${c}` : `rds:${c}`));
  // Tags passed at restore or snapshot time are applied with AddTagsToResource; Object Lock needs PutObjectRetention.
  actions.push("rds:AddTagsToResource", "s3:PutObjectRetention");
  const policy = JSON.parse(readFileSync(join(repoRoot, "docs/iam-policy.json"), "utf8")) as { Statement: { Action: string[] }[] };
  const allowed = new Set(policy.Statement.flatMap((s) => s.Action));
  expect(actions.filter((a) => !allowed.has(a))).toEqual([]);
});
