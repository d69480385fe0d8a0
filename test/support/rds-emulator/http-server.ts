/**
 * The HTTP front: one server on 127.0.0.1 for both RDS and EC2 (told apart by Version, then
 * Action), recording each request and applying injected errors before the action runs.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ec2Actions } from "./ec2-actions.ts";
import type { Emulator, RecordedRequest } from "./emulator.ts";
import { rdsActions } from "./rds-actions.ts";
import { ApiError, EC2_VERSION, ec2Error, ec2Response, newRequestId, parseQuery, rdsError, rdsResponse, type ParamValue, type Params } from "./query-protocol.ts";

/** A copy of the parameters with any *Password* value replaced by "****". */
function masked(value: ParamValue, key = ""): ParamValue {
  if (/password/i.test(key) && typeof value === "string") return "****";
  if (Array.isArray(value)) return value.map((v) => masked(v));
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, k)]));
  return value;
}

export async function handle(em: Emulator, body: string): Promise<{ status: number; body: string; requestId: string }> {
  const requestId = newRequestId();
  const req = parseQuery(body);
  const service = req.version === EC2_VERSION || (!req.version && req.action in ec2Actions) ? "ec2" : "rds";
  const actions: Record<string, (em: Emulator, p: Params) => unknown> = service === "ec2" ? ec2Actions : rdsActions;
  const record: RecordedRequest = { service, action: req.action, params: masked(req.params) as Params, at: new Date(), status: 200, requestId };
  em.record(record);
  try {
    const injected = em.faults.takeError(req.action, req.params);
    if (injected) throw injected;
    const action = Object.hasOwn(actions, req.action) ? actions[req.action] : undefined;
    if (!action) throw new ApiError("InvalidAction", `Could not find operation ${req.action} for version ${req.version}`);
    const result = (await action(em, req.params)) as Parameters<typeof rdsResponse>[1];
    return { status: 200, body: service === "ec2" ? ec2Response(req.action, result, requestId) : rdsResponse(req.action, result, requestId), requestId };
  } catch (e) {
    const error = e instanceof ApiError ? e : new ApiError("InternalFailure", e instanceof Error ? e.message : String(e), 500);
    record.status = error.status;
    record.error = error.code;
    return { status: error.status, body: service === "ec2" ? ec2Error(error, requestId) : rdsError(error, requestId), requestId };
  }
}

/** Serves the emulator on a free port of 127.0.0.1. */
export async function serve(em: Emulator): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = req.method === "GET" ? (req.url ?? "").replace(/^[^?]*\??/, "") : Buffer.concat(chunks).toString("utf8");
      void handle(em, body).then((r) => {
        res.writeHead(r.status, { "content-type": "text/xml;charset=UTF-8", "x-amzn-requestid": r.requestId, "content-length": Buffer.byteLength(r.body) });
        res.end(r.body);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
