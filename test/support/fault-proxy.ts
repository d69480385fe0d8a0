/**
 * An HTTP proxy between the S3 client and s3rver that records every request and can inject the
 * faults real object stores produce: 503 SlowDown replies, reset connections, a part that never
 * succeeds. Used as the client's endpoint.
 */
import { createServer, request, type IncomingMessage, type Server } from "node:http";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  /** The upstream's status, once it answered (unset for injected faults). */
  status?: number;
}

/**
 * `corrupt` forwards the request but flips one byte in the middle of the response body; `403`
 * answers AccessDenied, as a store does to a read-only key that writes. `hold` forwards the
 * request (the server acts on it) but keeps its response back until `release()`: the client is
 * left waiting in the middle of that request, deterministically.
 */
export type Fault = "503" | "reset" | "corrupt" | "403" | "hold";

export interface FaultProxy {
  endpoint: string;
  requests: RecordedRequest[];
  /** Decides, per request, whether to inject a fault instead of forwarding it. */
  setFault(rule: ((r: RecordedRequest, index: number) => Fault | undefined) | undefined): void;
  /** How many responses `hold` is keeping back (their requests have reached the server). */
  held(): number;
  /** Sends every response kept back (to clients that may be gone). */
  release(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const requests: RecordedRequest[] = [];
  let rule: ((r: RecordedRequest, index: number) => Fault | undefined) | undefined;
  let holding: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const rec: RecordedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers };
    res.on("error", () => {}); // a client that was killed
    req.on("error", () => {});
    const index = requests.push(rec) - 1;
    const fault = rule?.(rec, index);
    if (fault === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault === "503") {
      req.resume();
      req.on("end", () => {
        res.writeHead(503, { "content-type": "application/xml" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`);
      });
      return;
    }
    if (fault === "403") {
      req.resume();
      req.on("end", () => {
        res.writeHead(403, { "content-type": "application/xml" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`);
      });
      return;
    }
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (upRes) => {
        rec.status = upRes.statusCode;
        if (fault === "hold") {
          const chunks: Buffer[] = [];
          upRes.on("data", (c: Buffer) => chunks.push(c));
          upRes.on("end", () =>
            holding.push(() => {
              if (res.destroyed) return;
              res.writeHead(upRes.statusCode ?? 502, upRes.headers);
              res.end(Buffer.concat(chunks));
            }),
          );
          return;
        }
        if (fault !== "corrupt") {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upRes.on("data", (c: Buffer) => chunks.push(c));
        upRes.on("end", () => {
          const body = Buffer.concat(chunks);
          if (body.length > 0) body[Math.floor(body.length / 2)]! ^= 0xff;
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(body);
        });
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    setFault(r) {
      rule = r;
    },
    held: () => holding.length,
    release() {
      const waiting = holding;
      holding = [];
      for (const send of waiting) send();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        holding = [];
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
