import type { z } from "zod";
import { StepError } from "./errors.js";

/** Parses a handler's input; a wrong shape is `InvalidInput` (a bug in the definition: never retried). */
export function parseInput<S extends z.ZodType>(schema: S, event: unknown): z.infer<S> {
  const r = schema.safeParse(event);
  if (!r.success) throw new StepError("InvalidInput", `unexpected input: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  return r.data;
}

/** Parses the function's environment (set by the CDK construct) once, at cold start. */
export function parseEnv<S extends z.ZodType>(schema: S): z.infer<S> {
  const r = schema.safeParse(process.env);
  if (!r.success) throw new StepError("InvalidConfiguration", `environment: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return r.data;
}
