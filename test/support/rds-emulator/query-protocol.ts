/**
 * The AWS Query wire format both RDS (awsQuery, 2014-10-31) and EC2 (ec2Query, 2016-11-15) use:
 * form-encoded requests in, XML out. Only what the emulator needs: parsing the flattened members
 * into a tree, building XML, and the two services' envelopes and error documents.
 */
import { randomUUID } from "node:crypto";

export const RDS_VERSION = "2014-10-31";
export const EC2_VERSION = "2016-11-15";
const RDS_NS = `http://rds.amazonaws.com/doc/${RDS_VERSION}/`;
const EC2_NS = `http://ec2.amazonaws.com/doc/${EC2_VERSION}/`;

/** A parsed request: lists become arrays (`Tags.Tag.1.Key`, `Tags.member.1.Key`, `IpPermissions.1.IpRanges.1.CidrIp` alike). */
export type Params = { [key: string]: ParamValue };
export type ParamValue = string | ParamValue[] | Params;

export interface QueryRequest {
  action: string;
  version: string;
  params: Params;
}

const isIndex = (s: string) => /^\d+$/.test(s);

/** Parses a form-encoded Query body (`Action=...&Version=...&A.B.1.C=...`). */
export function parseQuery(body: string): QueryRequest {
  const form = new URLSearchParams(body);
  const root: Record<string, unknown> = {};
  for (const [key, value] of form) {
    if (key === "Action" || key === "Version") continue;
    const path = key.split(".");
    let node = root;
    path.forEach((segment, i) => {
      if (i === path.length - 1) node[segment] = value;
      else node = (node[segment] ??= {}) as Record<string, unknown>;
    });
  }
  return { action: form.get("Action") ?? "", version: form.get("Version") ?? "", params: normalize(root) as Params };
}

/** `{1: a, 2: b}` becomes `[a, b]`; a list wrapper `{member|Tag|Value: {1: ..}}` collapses to its list. */
function normalize(node: unknown): ParamValue {
  if (typeof node === "string") return node;
  const obj = node as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length > 0 && keys.every(isIndex)) return keys.sort((a, b) => Number(a) - Number(b)).map((k) => normalize(obj[k]));
  if (keys.length === 1 && !isIndex(keys[0]!)) {
    const only = obj[keys[0]!];
    if (only && typeof only === "object" && Object.keys(only).length > 0 && Object.keys(only).every(isIndex)) return normalize(only);
  }
  return Object.fromEntries(keys.map((k) => [k, normalize(obj[k])]));
}

/** Typed readers for parsed parameters; they throw the service's validation error on a wrong shape. */
export const param = {
  str(p: Params, key: string): string | undefined {
    const v = p[key];
    return typeof v === "string" ? v : undefined;
  },
  required(p: Params, key: string): string {
    const v = p[key];
    if (typeof v !== "string" || v === "") throw new ApiError("MissingParameter", `The request must contain the parameter ${key}`);
    return v;
  },
  bool(p: Params, key: string): boolean | undefined {
    const v = param.str(p, key);
    return v === undefined ? undefined : v === "true";
  },
  int(p: Params, key: string): number | undefined {
    const v = param.str(p, key);
    return v === undefined || v === "" ? undefined : Number(v);
  },
  /** A list; the SDK sends an empty list as `Key=`. */
  list(p: Params, key: string): ParamValue[] {
    const v = p[key];
    if (v === undefined || v === "") return [];
    return Array.isArray(v) ? v : [v];
  },
  strList(p: Params, key: string): string[] {
    return param.list(p, key).filter((v): v is string => typeof v === "string");
  },
  structList(p: Params, key: string): Params[] {
    return param.list(p, key).filter((v): v is Params => typeof v === "object" && !Array.isArray(v));
  },
};

/** A service error: the Code and HTTP status the real service returns. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    status?: number,
  ) {
    super(message);
    this.status = status ?? defaultStatus(code);
  }
}

/** RDS models its *NotFound faults with HTTP 404; everything else a client gets wrong is 400. */
export function defaultStatus(code: string): number {
  if (/^(DBInstance|DBSnapshot|DBSubnetGroup|DBParameterGroup|DBSecurityGroup|OptionGroup)NotFound$/.test(code)) return 404;
  if (code === "InternalFailure" || code === "ServiceUnavailable") return 500;
  return 400;
}

// ---- XML ----

/** Already-serialized XML, inserted as is. */
export class Xml {
  constructor(readonly text: string) {}
  toString() {
    return this.text;
  }
}
export type XmlChild = Xml | string | number | boolean | Date | null | undefined | XmlChild[];

export const escapeXml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");

function render(child: XmlChild): string {
  if (child === null || child === undefined) return "";
  if (child instanceof Xml) return child.text;
  if (Array.isArray(child)) return child.map(render).join("");
  if (child instanceof Date) return child.toISOString();
  return escapeXml(String(child));
}

/** `<name>children</name>`, always emitted (an empty list is `<name></name>`). */
export function el(name: string, ...children: XmlChild[]): Xml {
  return new Xml(`<${name}>${children.map(render).join("")}</${name}>`);
}

/** `<name>value</name>` only when value is defined. */
export function opt(name: string, value: string | number | boolean | Date | null | undefined): Xml {
  return value === undefined || value === null ? new Xml("") : el(name, value);
}

export const newRequestId = () => randomUUID();

/** `<XResponse xmlns=..><XResult>..</XResult><ResponseMetadata>..</ResponseMetadata></XResponse>`; no result element for actions without output. */
export function rdsResponse(action: string, result: XmlChild | undefined, requestId: string): string {
  const body = result === undefined ? "" : render(el(`${action}Result`, result));
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${RDS_NS}">${body}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

export function rdsError(e: ApiError, requestId: string): string {
  const type = e.status >= 500 ? "Receiver" : "Sender";
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${RDS_NS}"><Error><Type>${type}</Type><Code>${escapeXml(e.code)}</Code><Message>${escapeXml(e.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

/** `<XResponse xmlns=..><requestId>..</requestId>fields</XResponse>` (EC2 has no Result wrapper). */
export function ec2Response(action: string, fields: XmlChild, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${requestId}</requestId>${render(fields)}</${action}Response>`;
}

export function ec2Error(e: ApiError, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(e.code)}</Code><Message>${escapeXml(e.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}
