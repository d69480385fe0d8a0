/** Programmatic fault injection: error responses per action, and instances stuck in a state. */
import { ApiError, type Params } from "./query-protocol.ts";

/** A lifecycle step an instance can be made to never finish. */
export type Phase = "create" | "modify" | "delete";

interface ErrorRule {
  action: string;
  code: string;
  message: string;
  status?: number;
  remaining: number;
  when?: (params: Params) => boolean;
}

interface StallRule {
  phase: Phase;
  /** An instance id, or undefined for "the next instance to enter this phase". */
  instanceId?: string;
  status?: string;
}

const MESSAGES: Record<string, string> = {
  Throttling: "Rate exceeded",
  InsufficientDBInstanceCapacity: "Cannot create a database instance because there is no capacity available for the requested DB instance class in this Availability Zone. Please try another DB instance class or Availability Zone.",
  DBInstanceAlreadyExists: "DB instance already exists",
  InternalFailure: "An internal error has occurred. Please try your query again at a later time.",
};

export class Faults {
  private errors: ErrorRule[] = [];
  private stalls: StallRule[] = [];

  /** The next `times` calls of `action` fail with `Throttling` (HTTP 400, "Rate exceeded"), then calls succeed again. */
  throttle(action: string, times = 1): this {
    return this.fail(action, "Throttling", { times });
  }

  /**
   * The next `times` calls of `action` (for which `when(params)` holds, if given) fail with `code`.
   * HTTP status defaults to the real one for the code (404 for *NotFound, 500 for InternalFailure, else 400).
   */
  fail(action: string, code: string, opts: { times?: number; message?: string; status?: number; when?: (params: Params) => boolean } = {}): this {
    this.errors.push({ action, code, message: opts.message ?? MESSAGES[code] ?? `${code} (injected)`, status: opts.status, remaining: opts.times ?? 1, when: opts.when });
    return this;
  }

  /** The next `times` RestoreDBInstanceFromDBSnapshot calls fail with `code` (default InsufficientDBInstanceCapacity). */
  failRestore(code = "InsufficientDBInstanceCapacity", times = 1): this {
    return this.fail("RestoreDBInstanceFromDBSnapshot", code, { times });
  }

  /** Restoring to `instanceId` fails with DBInstanceAlreadyExists `times` times, as if someone else's instance had that name. */
  alreadyExists(instanceId: string, times = 1): this {
    return this.fail("RestoreDBInstanceFromDBSnapshot", "DBInstanceAlreadyExists", { times, when: (p) => String(p.DBInstanceIdentifier ?? "").toLowerCase() === instanceId.toLowerCase() });
  }

  /** `instanceId` (or, without one, the next restored instance) stays `creating` forever; its server still runs. */
  neverAvailable(instanceId?: string): this {
    return this.stall("create", { instanceId });
  }

  /**
   * `phase` never completes for `instanceId` (or the next instance entering it): it stays in its
   * in-progress status, or moves to `status` instead (e.g. `incompatible-restore`, `failed`).
   */
  stall(phase: Phase, opts: { instanceId?: string; status?: string } = {}): this {
    this.stalls.push({ phase, instanceId: opts.instanceId?.toLowerCase(), status: opts.status });
    return this;
  }

  /** Removes every injected fault. */
  clear(): void {
    this.errors = [];
    this.stalls = [];
  }

  /** @internal The injected error for this call, if any (consumes one use). */
  takeError(action: string, params: Params): ApiError | undefined {
    const rule = this.errors.find((r) => r.action === action && r.remaining > 0 && (!r.when || r.when(params)));
    if (!rule) return undefined;
    rule.remaining--;
    this.errors = this.errors.filter((r) => r.remaining > 0);
    return new ApiError(rule.code, rule.message, rule.status);
  }

  /** @internal Binds a "next instance" stall of `phase` to `instanceId` as it enters the phase. */
  claimNext(phase: Phase, instanceId: string): void {
    const rule = this.stalls.find((r) => r.phase === phase && r.instanceId === undefined);
    if (rule) rule.instanceId = instanceId;
  }

  /** @internal Whether `phase` is stalled for the instance: `{ status }` (undefined status = stay as is). */
  stalled(phase: Phase, instanceId: string): { status?: string } | undefined {
    const rule = this.stalls.find((r) => r.phase === phase && r.instanceId === instanceId);
    return rule ? { status: rule.status } : undefined;
  }
}
