#!/bin/sh
# Wrapper for cron: one run at a time, the environment from a root-only file, a log per night,
# and cron's mail (or your monitoring) told which outcome it was from the exit code.
#   0 success, 1 backup failed, 2 configuration, 3 verification failed, 4 cleanup failed
set -u
cd "$(dirname "$0")/.." || exit 2
[ -r /etc/cobalt-backup/env ] && . /etc/cobalt-backup/env   # AWS_PROFILE, AWS_REGION, ...
mkdir -p /var/log/cobalt-backup
log="/var/log/cobalt-backup/$(date -u +%Y%m%dT%H%M%SZ).log"
exec flock -n /run/lock/cobalt-backup.lock \
  pnpm --silent cobalt-backup run --config /etc/cobalt-backup/cobalt-backup.config.json --json >"$log" 2>&1
