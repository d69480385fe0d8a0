#!/bin/sh
# Wrapper for cron: one run at a time, the environment from a root-only file, a log per night,
# and, when a run fails, one line for cron's mail saying which outcome it was. It exits with the
# run's exit code (0 success, 1 failed at run time, 2 configuration or unreachable input, 3 the
# backup is proven bad, 4 the temporary RDS instance could not be deleted, 5 a notification could
# not be delivered, 130/143 interrupted; see the README), or with
#   75  another run still holds the lock (EX_TEMPFAIL): this one did nothing.
# COBALT_CONFIG, COBALT_LOG_DIR and COBALT_LOCK override the paths below.
set -u
# cron runs jobs with PATH=/usr/bin:/bin; Node 24 (scripts/setup) lives in /usr/local/bin.
PATH="/usr/local/bin:/usr/bin:/bin${PATH:+:$PATH}"
export PATH
repo="$(cd "$(dirname "$0")/.." && pwd)" || exit 2
[ -r /etc/cobalt-backup/env ] && . /etc/cobalt-backup/env   # AWS_PROFILE, AWS_REGION, ...
config="${COBALT_CONFIG:-/etc/cobalt-backup/cobalt-backup.config.json}"
logdir="${COBALT_LOG_DIR:-/var/log/cobalt-backup}"
lock="${COBALT_LOCK:-/run/lock/cobalt-backup.lock}"
mkdir -p "$logdir" || exit 2
log="$logdir/$(date -u +%Y%m%dT%H%M%SZ).log"

flock -n -E 75 "$lock" node "$repo/packages/cli/dist/main.js" run --config "$config" --json >"$log" 2>&1
code=$?
case $code in
  0) exit 0 ;;
  75) echo "cobalt-backup: another run still holds $lock; this one did nothing"; exit 75 ;;
  1) what="failed at run time" ;;
  2) what="configuration or unreachable input" ;;
  3) what="the backup is proven bad" ;;
  4) what="the temporary RDS instance could not be deleted" ;;
  5) what="a notification could not be delivered" ;;
  130 | 143) what="interrupted" ;;
  *) what="unexpected exit" ;;
esac
echo "cobalt-backup run exited $code ($what); log: $log"
grep '^cobalt-backup: error:' "$log" | tail -n 1
exit "$code"
