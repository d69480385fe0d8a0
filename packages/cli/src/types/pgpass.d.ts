/** The parts of the `pgpass` package (node-postgres' reader of ~/.pgpass) that connection-string.ts uses. */
declare module "pgpass/lib/helper.js" {
  import type { Stats } from "node:fs";
  import type { Readable } from "node:stream";
  const helper: {
    /** False (with libpq's warning on stderr) when PGPASSWORD is set or the file is not a private plain file. */
    usePgPass(stats: Stats, file: string): boolean;
    /** The password of the first line matching host, port, database and user; undefined when none does. */
    getPassword(conn: { host: string; port: string; database: string; user: string }, file: Readable, done: (password: string | undefined) => void): void;
  };
  export default helper;
}
