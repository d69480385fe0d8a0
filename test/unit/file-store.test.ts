import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, expect, it } from "vitest";
import { fileStore } from "@cobalt-backup/core";
import { storeConformance } from "../support/store-conformance.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), "cobalt-filestore-"));
  dirs.push(d);
  return d;
};

storeConformance("file://", async () => fileStore(pathToFileURL(join(freshDir(), "store")).href));

it("file:// refuses a destination it cannot create, naming it", async () => {
  const d = freshDir();
  writeFileSync(join(d, "a-file"), "");
  const r = await fileStore(pathToFileURL(join(d, "a-file", "sub")).href).checkWritable();
  expect(r._unsafeUnwrapErr()).toMatchObject({ _tag: "StoreUnwritable", message: expect.stringContaining("a-file/sub") });
});
