/**
 * What a failed connection to the source is called: the operator's input (exit 2) only when the
 * server would not let the backup in; a session the server ended once in, or while letting it in
 * (class 57P: an administrator, a shutdown), is a failure of the run (exit 1), and its connection
 * is closed. The integration tests kill real backends at random moments; this pins each case.
 */
import { describe, expect, it } from "vitest";
import { connectSource } from "../../packages/core/src/dump/plan-dump.ts";
import type { PgClient } from "../../packages/core/src/pg/session.ts";
import { Failure } from "../../packages/core/src/result.ts";

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

async function failureOf(connect: () => Promise<PgClient>): Promise<{ _tag: string; message: string }> {
  try {
    await connectSource(connect, "source database app");
  } catch (e) {
    expect(e).toBeInstanceOf(Failure);
    return (e as Failure).error;
  }
  throw new Error("connectSource succeeded");
}

describe("connectSource", () => {
  it("a refused login is the input's problem", async () => {
    const e = await failureOf(() => Promise.reject(pgError("28P01", 'password authentication failed for user "app"')));
    expect(e._tag).toBe("SourceConnectFailed");
    expect(e.message).toMatch(/check the user name and password/);
  });

  it("a session ended by the server while letting the backup in is the run's failure", async () => {
    const e = await failureOf(() => Promise.reject(pgError("57P01", "terminating connection due to administrator command")));
    expect(e._tag).toBe("SnapshotFailed");
    expect(e.message).toBe("source database app ended the session as it started: terminating connection due to administrator command");
  });

  it("a session that fails its settings once connected is the run's failure, and is closed", async () => {
    let ended = 0;
    const client = {
      query: () => Promise.reject(new Error("Connection terminated unexpectedly")),
      end: async () => void ended++,
    } as unknown as PgClient;
    const e = await failureOf(async () => client);
    expect(e._tag).toBe("SnapshotFailed");
    expect(e.message).toMatch(/ended the session as it started: Connection terminated unexpectedly/);
    expect(ended).toBe(1);
  });
});
