declare module "asl-validator" {
  /** Validates an Amazon States Language definition (asl-validator ships no types). */
  export default function validator(definition: object, options?: { checkPaths?: boolean; checkArn?: boolean }): { isValid: boolean; errors: { message: string; path?: string }[] };
}
