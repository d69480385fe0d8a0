import pg from "pg"; import { to } from "pg-copy-streams"; import { copyOut } from "./dist/index.js";
import { writeObject, fileStore } from "./dist/index.js";
const c = new pg.Client({ connectionString: process.env.URL }); await c.connect();
const store = fileStore("file:///tmp/bb/wo");
const t0 = performance.now();
let n = 0;
const r = await writeObject(store, "x/events.copy.zst", c.query((process.argv[2]==="new"?copyOut:to)("COPY events TO STDOUT")), { compression: "zstd", onRaw: (b, l) => { n += l; } });
console.log(r.isOk(), n, ((performance.now()-t0)/1000).toFixed(2), "s");
await c.end();
