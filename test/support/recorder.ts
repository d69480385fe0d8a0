/** A local HTTP endpoint that records what it receives: a webhook, a heartbeat, SES's API. */
import { createServer } from "node:http";

export interface Received {
  method: string;
  url: string;
  body: string;
}

export interface Recorder {
  url: string;
  received: Received[];
  stop(): Promise<void>;
}

/** Answers every request with `reply` (JSON, status 200 unless told) after recording it. */
export async function startRecorder(reply: unknown = { ok: true }, status = 200): Promise<Recorder> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ method: req.method ?? "", url: req.url ?? "", body: Buffer.concat(chunks).toString() });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
