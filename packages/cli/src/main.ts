import { Command } from "commander";
import { registerBackup } from "./commands/backup.js";
import { registerDemo } from "./commands/demo.js";
import { registerCheck } from "./commands/check.js";
import { registerList } from "./commands/list.js";
import { registerPrune } from "./commands/prune.js";
import { registerRun } from "./commands/run.js";
import { registerConfig } from "./commands/config.js";
import { registerSnapshot } from "./commands/snapshot.js";
import { registerCleanup } from "./commands/cleanup.js";
import { registerRestore } from "./commands/restore.js";
import { registerVerify } from "./commands/verify.js";
import { registerFiles } from "./commands/files.js";
import { registerExportSql } from "./commands/export-sql.js";
import { EXIT } from "./output.js";
import { TOOL } from "./version.js";

const program = new Command("cobalt-backup")
  .description("verified, off-system backups of PostgreSQL")
  .version(TOOL.version)
  .exitOverride((e) => {
    process.exit(e.exitCode === 0 ? 0 : EXIT.usage);
  });
registerBackup(program);
registerRestore(program);
registerVerify(program);
registerList(program);
registerCheck(program);
registerPrune(program);
registerRun(program);
registerConfig(program);
registerSnapshot(program);
registerCleanup(program);
registerDemo(program);
registerFiles(program);
registerExportSql(program);

await program.parseAsync(process.argv);
// Exit explicitly: a client or timer a library left open must not keep a finished command alive.
process.exit(process.exitCode ?? EXIT.ok);
