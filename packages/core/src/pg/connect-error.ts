/**
 * Turns a driver or socket error from connecting into one line an operator can act on.
 * Never includes the connection string: passwords stay out of messages.
 */
export interface ConnectProblem {
  reason: "unreachable" | "authentication" | "no-database" | "permission" | "other";
  message: string;
  retryable: boolean;
}

export function describeConnectError(cause: unknown, what: string): ConnectProblem {
  const e = cause as { code?: string; message?: string; address?: string; port?: number; hostname?: string };
  const code = e?.code ?? "";
  const detail = e?.message ?? String(cause);
  switch (code) {
    case "ECONNREFUSED":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ETIMEDOUT":
    case "ECONNRESET":
      return {
        reason: "unreachable",
        message: `cannot reach ${what} (${code}${e.address ? ` ${e.address}:${e.port}` : ""}): check the host and port, and that the server is running and accepts connections from here`,
        retryable: true,
      };
    case "ENOENT":
      return {
        reason: "unreachable",
        message: `cannot reach ${what}: no server socket at ${e.address ?? "the default socket directory"}: check that the server runs on this machine, or give its host (host=..., ?host=..., PGHOST)`,
        retryable: true,
      };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return {
        reason: "unreachable",
        message: `cannot resolve the host of ${what} (${e.hostname ?? code}): check the host name`,
        retryable: code === "EAI_AGAIN",
      };
    case "28P01":
    case "28000":
      return {
        reason: "authentication",
        message: `${what} rejected the credentials (${detail}): check the user name and password`,
        retryable: false,
      };
    case "3D000":
      return {
        reason: "no-database",
        message: `${what}: ${detail}: check the database name at the end of the URL`,
        retryable: false,
      };
    case "53300":
      // The coordinator and every worker hold a connection for the whole backup.
      return {
        reason: "other",
        message: `${what}: ${detail}: a backup holds one connection per job plus one; run fewer jobs, or raise the role's CONNECTION LIMIT or the server's max_connections`,
        retryable: true,
      };
    case "42501":
      return { reason: "permission", message: `${what}: ${detail}`, retryable: false };
    default:
      return { reason: "other", message: `cannot connect to ${what}: ${detail}`, retryable: false };
  }
}
