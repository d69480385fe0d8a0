// One rule, on purpose: a neverthrow Result that is neither returned, awaited into a check, nor
// matched is a failure nobody hears about. The rule needs type information (the TypeScript projects).
import neverthrow from "@bufferings/eslint-plugin-neverthrow";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "packages/lambda/pending/**", "packages/lambda/scripts/**", "**/*.config.*"] },
  {
    files: ["packages/*/src/**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { neverthrow },
    rules: { "neverthrow/must-use-result": "error" },
  },
);
