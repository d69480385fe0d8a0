/** The pool that reads the catalogs over the snapshot's connections (pg/query-pool.ts), with stand-in connections. */
import { describe, expect, it } from "vitest";
import { QueryPool } from "../../packages/core/src/pg/query-pool.ts";
import type { PgClient } from "../../packages/core/src/pg/session.ts";

/** A connection whose queries finish when the test says so; it records what ran on it, and refuses two at once. */
function connection(name: string) {
  const ran: string[] = [];
  const pending: (() => void)[] = [];
  let busy = false;
  const client = {
    query: (sql: string) => {
      if (busy) throw new Error(`${name}: a query while another runs`);
      busy = true;
      ran.push(sql);
      return new Promise((resolve) => pending.push(() => ((busy = false), resolve({ rows: [{ on: name, sql }] }))));
    },
  } as unknown as PgClient;
  return { client, ran, finish: () => pending.shift()?.(), get busy() { return busy; } };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("QueryPool", () => {
  it("runs one query per connection, side by side, the first connection preferred; the rest wait their turn", async () => {
    const [a, b] = [connection("a"), connection("b")];
    const pool = new QueryPool([a.client, b.client]);
    const q1 = pool.query("q1");
    const q2 = pool.query("q2");
    const q3 = pool.query("q3");
    await tick();
    expect([a.ran, b.ran]).toEqual([["q1"], ["q2"]]);
    b.finish();
    await tick();
    expect(b.ran).toEqual(["q2", "q3"]);
    b.finish();
    await tick();
    a.finish();
    expect((await Promise.all([q1, q2, q3])).map((r) => r.rows[0])).toEqual([{ on: "a", sql: "q1" }, { on: "b", sql: "q2" }, { on: "b", sql: "q3" }]);
    // Both idle (b was first to be): the first connection takes the next query.
    const q4 = pool.query("q4");
    await tick();
    expect(a.ran).toEqual(["q1", "q4"]);
    a.finish();
    await q4;
  });

  it("runs queries asked for `first` before those already waiting", async () => {
    const a = connection("a");
    const pool = new QueryPool([a.client]);
    const running = pool.query("running");
    const later = pool.query("later");
    const urgent = pool.first.query("urgent");
    await tick();
    a.finish();
    await tick();
    a.finish();
    await tick();
    a.finish();
    await Promise.all([running, later, urgent]);
    expect(a.ran).toEqual(["running", "urgent", "later"]);
  });

  it("take waits for the connection's query, then no query goes to it; using lends it back afterwards", async () => {
    const [a, b] = [connection("a"), connection("b")];
    const pool = new QueryPool([a.client, b.client]);
    const q1 = pool.query("q1");
    let taken = false;
    const taking = pool.take(a.client).then(() => (taken = true));
    await tick();
    expect(taken).toBe(false);
    a.finish();
    await taking;
    const q2 = pool.query("q2");
    const q3 = pool.query("q3");
    await tick();
    expect([a.ran, b.ran]).toEqual([["q1"], ["q2"]]);
    // using: the work runs on that connection alone, then it takes queries again.
    const locked = pool.using(b.client, async (c) => {
      expect(c).toBe(b.client);
      return "locked";
    });
    b.finish(); // q2 done: b goes to `using`, not to q3
    expect(await locked).toBe("locked");
    await tick();
    expect(b.ran).toEqual(["q2", "q3"]);
    b.finish();
    await Promise.all([q1, q2, q3]);
  });
});
