/** State DescribeInstance: the temporary instance's status, endpoint and phase (available / working / failed) for the wait loop's Choice. */
import { RDSClient } from "@aws-sdk/client-rds";
import { describeInstance, type InstanceRef } from "@cobalt-backup/core/rds";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { parseInput } from "../lib/input.js";
import { instanceRef } from "../lib/refs.js";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<InstanceRef> {
  const { instance } = parseInput(z.object({ instance: instanceRef }), event);
  return await describeInstance({ rds }, { instance }).match(value, stepError);
}
