#!/usr/bin/env node
// The `cobalt-backup` command: the CLI that `pnpm build` writes to ../dist. A file that exists
// before the build, so that `pnpm install` links it and `pnpm cobalt-backup ...` runs it
// directly: no script banner on stdout, so `pnpm cobalt-backup export-sql ... | psql -f -` works.
import "../dist/main.js";
