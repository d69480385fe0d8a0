/** The EC2 security-group actions the tool uses to open an instance's port to the runner. */
import type { Emulator } from "./emulator.ts";
import { ApiError, el, opt, param, type Params, type XmlChild } from "./query-protocol.ts";
import { ACCOUNT, VPC_ID, newRuleId, type IngressRule } from "./state.ts";

type Handler = (em: Emulator, p: Params) => XmlChild;
type RuleSpec = Omit<IngressRule, "ruleId" | "groupId">;

const PROTOCOLS: Record<string, string> = { "6": "tcp", "17": "udp", "1": "icmp", all: "-1" };
const protocolOf = (s: string | undefined) => (s ? (PROTOCOLS[s.toLowerCase()] ?? s.toLowerCase()) : "-1");

function groupParam(em: Emulator, p: Params): string {
  const id = param.str(p, "GroupId");
  if (!id) throw new ApiError("MissingParameter", "The request must contain the parameter groupId (the emulator does not support groupName)");
  return checkGroup(em, id);
}

function checkGroup(em: Emulator, id: string): string {
  if (!/^sg-[0-9a-z]+$/.test(id)) throw new ApiError("InvalidGroupId.Malformed", `Invalid id: "${id}" (expecting "sg-...")`);
  if (em.knownSecurityGroups && !em.knownSecurityGroups.has(id)) throw new ApiError("InvalidGroup.NotFound", `The security group '${id}' does not exist`);
  return id;
}

/** The IPv4 rules of a request: IpPermissions.N.IpRanges.M, or the flat CidrIp/IpProtocol/FromPort/ToPort form. */
function rulesParam(p: Params): RuleSpec[] {
  const out: RuleSpec[] = [];
  for (const perm of param.structList(p, "IpPermissions")) {
    for (const unsupported of ["Groups", "UserIdGroupPairs", "Ipv6Ranges", "PrefixListIds"]) {
      if (param.list(perm, unsupported).length > 0) throw new ApiError("InvalidParameterValue", `The RDS emulator supports only IpRanges rules, not ${unsupported}`);
    }
    const protocol = protocolOf(param.str(perm, "IpProtocol"));
    const fromPort = param.int(perm, "FromPort") ?? -1;
    const toPort = param.int(perm, "ToPort") ?? -1;
    for (const range of param.structList(perm, "IpRanges")) {
      const cidr = param.str(range, "CidrIp");
      if (!cidr || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) throw new ApiError("InvalidParameterValue", `CIDR block ${cidr} is malformed`);
      out.push({ protocol, fromPort, toPort, cidr, description: param.str(range, "Description") });
    }
  }
  const cidr = param.str(p, "CidrIp");
  if (cidr) out.push({ protocol: protocolOf(param.str(p, "IpProtocol")), fromPort: param.int(p, "FromPort") ?? -1, toPort: param.int(p, "ToPort") ?? -1, cidr });
  if (out.length === 0) throw new ApiError("MissingParameter", "No IP permissions were specified");
  return out;
}

const same = (a: RuleSpec, b: RuleSpec) => a.protocol === b.protocol && a.fromPort === b.fromPort && a.toPort === b.toPort && a.cidr === b.cidr;
const describeRule = (r: RuleSpec) => `peer: ${r.cidr}, ${r.protocol.toUpperCase()}, from port: ${r.fromPort}, to port: ${r.toPort}, ALLOW`;

function ruleXml(r: IngressRule): XmlChild {
  return el(
    "item",
    el("securityGroupRuleId", r.ruleId),
    el("groupId", r.groupId),
    el("groupOwnerId", ACCOUNT),
    el("isEgress", false),
    el("ipProtocol", r.protocol),
    el("fromPort", r.fromPort),
    el("toPort", r.toPort),
    el("cidrIpv4", r.cidr),
    opt("description", r.description),
  );
}

function permissionsXml(rules: IngressRule[]): XmlChild {
  const groups = new Map<string, IngressRule[]>();
  for (const r of rules) {
    const key = `${r.protocol}/${r.fromPort}/${r.toPort}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) =>
    el(
      "item",
      el("ipProtocol", rs[0]!.protocol),
      rs[0]!.protocol === "-1" ? undefined : [el("fromPort", rs[0]!.fromPort), el("toPort", rs[0]!.toPort)],
      el("groups"),
      el("ipRanges", rs.map((r) => el("item", el("cidrIp", r.cidr), opt("description", r.description)))),
      el("ipv6Ranges"),
      el("prefixListIds"),
    ),
  );
}

export const ec2Actions: Record<string, Handler> = {
  AuthorizeSecurityGroupIngress(em, p) {
    const groupId = groupParam(em, p);
    const specs = rulesParam(p);
    for (const s of specs) {
      if (em.ingress.some((r) => r.groupId === groupId && same(r, s))) throw new ApiError("InvalidPermission.Duplicate", `the specified rule "${describeRule(s)}" already exists`);
    }
    const added = specs.map((s) => ({ ...s, ruleId: newRuleId(), groupId }));
    em.ingress.push(...added);
    return [el("return", true), el("securityGroupRuleSet", added.map(ruleXml))];
  },

  RevokeSecurityGroupIngress(em, p) {
    const groupId = groupParam(em, p);
    const specs = rulesParam(p);
    const found = specs.map((s) => em.ingress.find((r) => r.groupId === groupId && same(r, s)));
    if (found.some((r) => r === undefined)) throw new ApiError("InvalidPermission.NotFound", "The specified rule does not exist in this security group.");
    for (const r of found) em.ingress.splice(em.ingress.indexOf(r!), 1);
    return [el("return", true), el("revokedSecurityGroupRuleSet", found.map((r) => el("item", el("securityGroupRuleId", r!.ruleId), el("groupId", r!.groupId), el("isEgress", false), el("ipProtocol", r!.protocol), el("fromPort", r!.fromPort), el("toPort", r!.toPort), el("cidrIpv4", r!.cidr), opt("description", r!.description))))];
  },

  DescribeSecurityGroups(em, p) {
    let ids = param.strList(p, "GroupId").map((id) => checkGroup(em, id));
    if (ids.length === 0) ids = [...new Set([...(em.knownSecurityGroups ?? []), ...em.ingress.map((r) => r.groupId)])];
    return el(
      "securityGroupInfo",
      ids.map((id) =>
        el(
          "item",
          el("ownerId", ACCOUNT),
          el("groupId", id),
          el("groupName", id),
          el("groupDescription", `emulated ${id}`),
          el("vpcId", VPC_ID),
          el("securityGroupArn", `arn:aws:ec2:${em.region}:${ACCOUNT}:security-group/${id}`),
          el("ipPermissions", permissionsXml(em.ingress.filter((r) => r.groupId === id))),
          el("ipPermissionsEgress", el("item", el("ipProtocol", "-1"), el("groups"), el("ipRanges", el("item", el("cidrIp", "0.0.0.0/0"))), el("ipv6Ranges"), el("prefixListIds"))),
          el("tagSet"),
        ),
      ),
    );
  },
};
