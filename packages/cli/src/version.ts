import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
export const TOOL = { name: "cobalt-backup", version: (require("../package.json") as { version: string }).version };
