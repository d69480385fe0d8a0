#!/bin/sh
# Restores one cobalt-backup backup into an empty PostgreSQL database without cobalt-backup (and
# without Node): only sh, coreutils, awk, jq, psql, age (encrypted backups) and zstd or gzip.
# It follows `cobalt-backup restore` step by step (docs/disaster-recovery.md explains each one):
#   1. check every object's sha256 against manifest.json
#   (CREATE_ROLES=1) create the roles the backup uses that the server lacks, and their memberships
#   2. pre-data DDL (schemas, types, functions, tables, views, ...) in one transaction
#   3. each table: age -d | zstd -d | psql COPY FROM STDIN; the decoded COPY text's sha256 and
#      the row count psql reports are checked against the manifest
#   4. large objects: the `LO <oid> <bytes>\n` + bytes records, decoded with od and awk into
#      lo_create/lo_put calls, in one transaction
#   5. post-data DDL (indexes, constraints, foreign keys, triggers, rules, policies), in the
#      schema's order (every item after what it depends on)
#   6. sequence states (setval) and REFRESH of the materialized views that were populated
#   7. owners and privileges, each skipped with a WARNING where a role it names is missing
#
# usage: sh restore-without-cobalt.sh BACKUP_DIR TARGET [IDENTITY_FILE]
#   BACKUP_DIR     a local copy of one backup: the folder holding manifest.json, schema.json.zst*,
#                  data/ and large-objects.zst* (as `aws s3 cp --recursive` downloads it)
#   TARGET         the empty database, as `psql -d` takes it (postgresql://user@host:5432/db or a
#                  name; PGPASSWORD, PGHOST, ~/.pgpass ... apply as usual)
#   IDENTITY_FILE  the age identity file (AGE-SECRET-KEY-1...) of an encrypted backup; without it,
#                  a passphrase-encrypted backup's passphrase is asked once (or read from
#                  AGE_PASSPHRASE) and given to age for every object through script(1)
# environment: NO_OWNER=1 leaves out owners, NO_PRIVILEGES=1 leaves out GRANTs (as pg_restore's flags);
#   CREATE_ROLES=1 first creates the roles the backup uses that the server lacks (attributes and
#   memberships, NOLOGIN, no password), as `cobalt-backup restore --create-roles`; ROLES_LOGIN=1
#   gives LOGIN to those that could log in on the source (--roles-login)
#
# A failure stops the script with a message. Data already loaded stays: drop the target database,
# create it again, and rerun.
set -eu

say() { printf 'restore-without-cobalt: %s\n' "$*" >&2; }
die() {
  printf 'restore-without-cobalt: error: %s\n' "$*" >&2
  exit 1
}

[ $# -ge 2 ] || die "usage: sh restore-without-cobalt.sh BACKUP_DIR TARGET [IDENTITY_FILE]"
DIR=$1
TARGET=$2
IDENTITY=${3:-}
M=$DIR/manifest.json
[ -f "$M" ] || die "$M not found: download the whole folder of one backup (the one holding manifest.json)"
for tool in jq psql sha256sum od awk tee mkfifo mktemp; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (apt-get install jq postgresql-client age zstd)"
done
jq -e '.format == "cobalt-backup/1" or .format == "cobalt-backup/2"' "$M" >/dev/null || die "$M is not the manifest of a cobalt-backup database backup (format 1 or 2)"
[ -z "$IDENTITY" ] || [ -r "$IDENTITY" ] || die "cannot read the identity file $IDENTITY"

compression=$(jq -r '.compression' "$M")
case $compression in
  zstd | gzip) command -v "$compression" >/dev/null 2>&1 || die "$compression is not installed" ;;
  none) ;;
  *) die "unknown compression $compression in $M" ;;
esac
encrypted=$(jq -r 'if .encryption then "yes" else "" end' "$M")
if [ -n "$encrypted" ]; then
  command -v age >/dev/null 2>&1 || die "age is not installed (apt-get install age)"
  if [ -z "$IDENTITY" ] && [ "$(jq -r '.encryption.passphrase' "$M")" != true ]; then
    die "the backup is encrypted for $(jq -r '.encryption.recipients | join(", ")' "$M"): pass the file with the matching AGE-SECRET-KEY as the third argument"
  fi
fi

tmp=$(mktemp -d)
restore_tty=
trap 'rm -rf "$tmp"; [ -z "$restore_tty" ] || stty echo </dev/tty' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A passphrase-encrypted backup: age reads a passphrase only from a terminal, once per file. The
# passphrase is asked here once (or taken from AGE_PASSPHRASE) and typed into each age through a
# pseudo-terminal of its own (script, from util-linux), so a 200-object backup asks once.
if [ -n "$encrypted" ] && [ -z "$IDENTITY" ]; then
  command -v script >/dev/null 2>&1 || die "script (util-linux) is not installed; it gives age the passphrase"
  if [ -z "${AGE_PASSPHRASE:-}" ]; then
    (true </dev/tty) 2>/dev/null || die "the backup is encrypted with a passphrase: run this in a terminal, or set AGE_PASSPHRASE"
    restore_tty=1
    stty -echo </dev/tty
    printf 'Passphrase of backup %s: ' "$(jq -r '.id' "$M")" >/dev/tty
    IFS= read -r AGE_PASSPHRASE </dev/tty || die "no passphrase given"
    stty echo </dev/tty
    restore_tty=
    printf '\n' >/dev/tty
  fi
fi

# The session every cobalt-backup connection uses (SESSION_SETTINGS in packages/core/src/pg/session.ts):
# value text is read exactly as it was written, and every name in the DDL is schema-qualified.
cat >"$tmp/session.sql" <<'EOF'
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = postgres;
SET TimeZone = UTC;
SET extra_float_digits = 3;
SET bytea_output = hex;
SET client_encoding = UTF8;
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;
EOF

# psql with that session; stops at the first error. Further arguments: -1, -f FILE, -c SQL.
run_psql() { psql -X -v ON_ERROR_STOP=1 -d "$TARGET" -f "$tmp/session.sql" "$@"; }

# jq helpers: quoted identifiers and literals, statements, the guarded privilege blocks.
defs=$(
  cat <<'EOF'
def ident: "\"" + gsub("\""; "\"\"") + "\"";
def lit: "'" + gsub("'"; "''") + "'";
def oneline: gsub("[\r\n]+"; " ");
def stmt: sub("\\s+\\z"; "") | if endswith(";") then . else . + ";" end;
def item: "-- \(.kind) \(.name | oneline)\n\(.sql | stmt)\n";
def copy_sql: "COPY \(.schema | ident).\(.table | ident)" + (if (.columns | length) > 0 then " (\(.columns | map(ident) | join(", ")))" else "" end) + " FROM STDIN";
def dollar_tag($body): first(range(0; 1000) as $i | (if $i == 0 then "$cobalt$" else "$cobalt\($i)$" end) as $t | select(($body | contains($t)) | not) | $t);
def guarded:
  (reduce (.roles // [])[] as $r ([]; if any(.[]; . == $r) then . else . + [$r] end)) as $roles
  | ("\(.kind) \(.name | oneline)" | lit) as $what
  | ("EXECUTE \(.sql | lit);") as $exec
  | (if ($roles | length) > 0 then
      "  IF (SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = ANY (ARRAY[\($roles | map(lit) | join(", "))]::pg_catalog.text[])) = \($roles | length) THEN\n"
      + "    \($exec)\n  ELSE\n"
      + "    RAISE WARNING 'cobalt-backup: skipped %: a role it names (%) does not exist', \($what), \($roles | join(", ") | lit);\n"
      + "  END IF;"
    else "  \($exec)" end) as $body
  | "BEGIN\n\($body)\nEXCEPTION WHEN OTHERS THEN\n  RAISE WARNING 'cobalt-backup: skipped %: %', \($what), SQLERRM;\nEND\n" as $block
  | dollar_tag($block) as $tag
  | "DO \($tag)\n\($block)\($tag);\n";
def role_sql($login):
  "CREATE ROLE \(.name | ident) " + ([if $login and .login then "LOGIN" else "NOLOGIN" end,
    (if .superuser then "SUPERUSER" else empty end), (if .inherit then empty else "NOINHERIT" end),
    (if .createRole then "CREATEROLE" else empty end), (if .createDb then "CREATEDB" else empty end),
    (if .replication then "REPLICATION" else empty end), (if .bypassRls then "BYPASSRLS" else empty end),
    (if .connectionLimit != -1 then "CONNECTION LIMIT \(.connectionLimit)" else empty end),
    (if .validUntil then "VALID UNTIL \(.validUntil | lit)" else empty end)] | join(" "));
def grant_sql($member):
  "GRANT \(.role | ident) TO \($member | ident)"
  + (if .inherit == null and .set == null then (if .admin then " WITH ADMIN OPTION" else "" end)
     else " WITH " + ([(if .admin then "ADMIN TRUE" else empty end),
       (if .inherit == null then empty elif .inherit then "INHERIT TRUE" else "INHERIT FALSE" end),
       (if .set == false then "SET FALSE" else empty end)] | join(", ")) end);
def role_exists: "EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = \(lit))";
def direct_membership($role; $member):
  "EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m\n   JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member\n  WHERE g.rolname = \($role | lit) AND u.rolname = \($member | lit))";
def skippable($what; $condition; $sql):
  "BEGIN\n  IF \($condition) THEN\n    EXECUTE \($sql | lit);\n  END IF;\nEXCEPTION WHEN OTHERS THEN\n  RAISE WARNING 'cobalt-backup: skipped %: %', \($what | lit), SQLERRM;\nEND\n" as $body
  | dollar_tag($body) as $tag | "DO \($tag)\n\($body)\($tag);\n";
def roles_script($login):
  (.roles // []) as $roles
  | ($roles[] | skippable("role \(.name)"; "NOT \(.name | role_exists)"; role_sql($login))),
    ($roles[] | .name as $m | .memberOf[]
      | skippable("membership of \($m) in \(.role)"; "\($m | role_exists) AND \(.role | role_exists) AND NOT \(direct_membership(.role; $m))"; grant_sql($m)));
EOF
)

# decode KEY: the object's original bytes on stdout (decrypted, decompressed). A failing stage is
# written to $tmp/failed: in a pipeline only the last command's status would be seen.
decode() {
  {
    if [ -z "$encrypted" ]; then
      cat "$DIR/$1" || echo "cannot read $1" >>"$tmp/failed"
    elif [ -n "$IDENTITY" ]; then
      age -d -i "$IDENTITY" "$DIR/$1" || echo "age cannot decrypt $1" >>"$tmp/failed"
    else
      # age writes the plaintext to fd 3 (this pipeline); its prompt goes to its pseudo-terminal.
      printf '%s\n' "$AGE_PASSPHRASE" | SHELL=/bin/sh AGE_IN="$DIR/$1" script -qec 'age -d -o /dev/fd/3 "$AGE_IN"' /dev/null 3>&1 >/dev/null 2>&1 ||
        echo "age cannot decrypt $1 (wrong passphrase?)" >>"$tmp/failed"
    fi
  } | {
    case $compression in
      zstd) zstd -dcq || echo "zstd cannot decompress $1" >>"$tmp/failed" ;;
      gzip) gzip -dc || echo "gzip cannot decompress $1" >>"$tmp/failed" ;;
      *) cat ;;
    esac
  }
}

# Starts hashing what is written to $tmp/raw.fifo (the decoded bytes, through tee).
start_hash() {
  : >"$tmp/failed"
  rm -f "$tmp/raw.fifo" "$tmp/raw.sha256"
  mkfifo "$tmp/raw.fifo"
  sha256sum <"$tmp/raw.fifo" >"$tmp/raw.sha256" &
}
# check_hash WHAT EXPECTED_SHA256: after the consumer finished, every stage succeeded and the
# decoded bytes are the ones the manifest recorded.
check_hash() {
  wait
  if [ -s "$tmp/failed" ]; then die "$1: $(cat "$tmp/failed")"; fi
  got=$(cut -d ' ' -f 1 <"$tmp/raw.sha256")
  [ "$got" = "$2" ] || die "$1: the decoded data's sha256 is $got, the manifest recorded $2"
}

say "backup $(jq -r '.id' "$M"): $(jq -r '"\(.tables | length) tables, \(.totals.rows) rows, \(.largeObjects.count // 0) large objects, from \(.source.database) (PostgreSQL \(.source.serverVersion)) at \(.source.snapshotTime)"' "$M")"

# 1. Every stored object, as the manifest recorded it.
say "checking the sha256 of every object"
# A table's data is one object (format 1) or several parts, loaded in order (format 2).
jq -r '(.schema, (.tables[] | (.parts // [.])[]), (.largeObjects // empty)) | "\(.sha256)  \(.key)"' "$M" >"$tmp/objects.sha256"
(cd "$DIR" && sha256sum -c --quiet --strict) <"$tmp/objects.sha256" || die "objects differ from the manifest: download the backup again"

# 2. The schema: pre-data in one transaction.
schema_key=$(jq -r '.schema.key' "$M")
: >"$tmp/failed"
decode "$schema_key" >"$tmp/schema.json"
if [ -s "$tmp/failed" ]; then die "$(cat "$tmp/failed")"; fi
jq -e '.items | type == "array"' "$tmp/schema.json" >/dev/null || die "$schema_key does not hold the schema"

# Roles first (CREATE_ROLES=1): the same statements as `cobalt-backup restore --create-roles`.
if [ -n "${CREATE_ROLES:-}" ]; then
  jq -r --arg login "${ROLES_LOGIN:-}" "$defs"'roles_script($login != "")' "$tmp/schema.json" >"$tmp/roles.sql"
  run_psql -q -f "$tmp/roles.sql" >/dev/null || die "creating the roles failed"
  say "roles: $(jq '(.roles // []) | length' "$tmp/schema.json") that the backup uses, created where missing ($([ -n "${ROLES_LOGIN:-}" ] && echo 'LOGIN as on the source' || echo NOLOGIN))"
fi
jq -r "$defs"'.items[] | select(.section == "pre-data") | item' "$tmp/schema.json" >"$tmp/pre-data.sql"
say "pre-data: $(jq '[.items[] | select(.section == "pre-data")] | length' "$tmp/schema.json") statements"
run_psql -q -1 -f "$tmp/pre-data.sql" >/dev/null || die "the schema (pre-data) failed; nothing of it was applied"

# 3. Table data.
# load_table KEY ROWS RAW_SHA256 NAME COPY_SQL
load_table() {
  start_hash
  decode "$1" | tee "$tmp/raw.fifo" | run_psql -c "$5" >"$tmp/copy.out" || {
    wait
    die "loading table $4 from $1 failed"
  }
  check_hash "table $4 ($1)" "$3"
  copied=$(awk '/^COPY [0-9]+$/ { n = $2 } END { print n }' "$tmp/copy.out")
  [ "$copied" = "$2" ] || die "table $4: psql loaded ${copied:-no} rows, the manifest recorded $2"
  say "table $4: $2 rows"
}
jq -r "$defs"'.tables[] | . as $t | ($t.parts // [$t])[] | "load_table \(.key | @sh) \(.rows | tostring | @sh) \(.rawSha256 | @sh) \("\($t.schema).\($t.table)" | oneline | @sh) \($t | copy_sql | @sh)"' "$M" >"$tmp/tables.sh"
. "$tmp/tables.sh"

# 4. Large objects: records `LO <oid> <bytes>\n` followed by exactly that many bytes. od prints
# every byte as two hex digits; awk turns the records into lo_create with the original oid and
# lo_put calls of 128 KiB. A malformed stream raises an error inside the transaction.
lo_awk=$(
  cat <<'EOF'
BEGIN {
  CHUNK = 131072
  split("30 31 32 33 34 35 36 37 38 39", hex, " ")
  for (d = 1; d <= 10; d++) digit[hex[d]] = d - 1
  mode = 0; hdr = ""; count = 0; inchunk = 0; failed = 0
}
function fail(msg) {
  if (inchunk) printf "'::pg_catalog.bytea);\n"
  printf "DO $cobalt$ BEGIN RAISE EXCEPTION 'large-object stream: %s'; END $cobalt$;\n", msg
  failed = 1
  exit 1
}
function header_done(   n, f) {
  n = split(hdr, f, " ")
  if (n != 3 || f[1] != "LO" || f[2] !~ /^[0-9]+$/ || f[3] !~ /^[0-9]+$/) fail("bad record header")
  oid = f[2]; left = f[3] + 0; off = 0; count++; hdr = ""
  printf "SELECT pg_catalog.lo_create('%s'::pg_catalog.oid);\n", oid
  mode = left > 0 ? 1 : 0
}
{
  i = 1
  while (i <= NF) {
    if (mode == 0) {
      b = $i; i++
      if (b == "0a") { header_done(); continue }
      if (b == "4c") hdr = hdr "L"
      else if (b == "4f") hdr = hdr "O"
      else if (b == "20") hdr = hdr " "
      else if (b in digit) hdr = hdr digit[b]
      else fail("bad record header")
      if (length(hdr) > 64) fail("bad record header")
    } else {
      if (!inchunk) {
        room = left < CHUNK ? left : CHUNK
        printf "SELECT pg_catalog.lo_put('%s'::pg_catalog.oid, %.0f, '\\x", oid, off
        inchunk = 1
      }
      k = NF - i + 1
      if (k > room) k = room
      s = ""
      for (j = 0; j < k; j++) s = s $(i + j)
      printf "%s", s
      i += k; room -= k; left -= k; off += k
      if (room == 0) { printf "'::pg_catalog.bytea);\n"; inchunk = 0 }
      if (left == 0) mode = 0
    }
  }
}
END {
  if (failed) exit 1
  if (mode == 1) fail("it ends inside large object " oid)
  if (hdr != "") fail("it ends inside a record header")
  print count > countfile
}
EOF
)
if [ "$(jq -r '.largeObjects != null' "$M")" = true ]; then
  lo_key=$(jq -r '.largeObjects.key' "$M")
  lo_count=$(jq -r '.largeObjects.count' "$M")
  start_hash
  decode "$lo_key" | tee "$tmp/raw.fifo" |
    { od -An -v -tx1 || echo "od failed" >>"$tmp/failed"; } |
    { awk -v countfile="$tmp/lo.count" "$lo_awk" || echo "the large-object stream is malformed" >>"$tmp/failed"; } |
    run_psql -q -1 -f - >/dev/null || {
    wait
    die "loading the large objects from $lo_key failed; none was loaded"
  }
  check_hash "large objects ($lo_key)" "$(jq -r '.largeObjects.rawSha256' "$M")"
  [ "$(cat "$tmp/lo.count")" = "$lo_count" ] || die "large objects: $(cat "$tmp/lo.count") loaded, the manifest recorded $lo_count"
  say "large objects: $lo_count"
fi

# 5. Post-data in the schema's order: each item after what it depends on (indexes first).
jq -r "$defs"'.items[] | select(.section == "post-data") | item' "$tmp/schema.json" >"$tmp/post-data.sql"
say "post-data: $(jq '[.items[] | select(.section == "post-data")] | length' "$tmp/schema.json") statements"
run_psql -q -1 -f "$tmp/post-data.sql" >/dev/null || die "post-data (indexes, constraints, triggers) failed"

# 6. Sequence states, then the materialized views that were populated.
jq -r "$defs"'(.sequences[] | "SELECT pg_catalog.setval(\("\(.schema | ident).\(.name | ident)" | lit), \(.lastValue), \(.isCalled));"),
  (.matviews[] | select(.populated) | "REFRESH MATERIALIZED VIEW \(.schema | ident).\(.name | ident);")' "$M" >"$tmp/finish.sql"
run_psql -q -1 -f "$tmp/finish.sql" >/dev/null || die "setting sequences or refreshing materialized views failed"
say "sequences: $(jq '.sequences | length' "$M"), materialized views refreshed: $(jq '[.matviews[] | select(.populated)] | length' "$M")"

# 7. Owners and privileges, last; a missing role or a refused statement is a WARNING, never a stop.
jq -r --arg no_owner "${NO_OWNER:-}" --arg no_privileges "${NO_PRIVILEGES:-}" "$defs"'.items[]
  | select(.section == "privileges")
  | select(if .kind == "owner" then $no_owner == "" else $no_privileges == "" end)
  | "-- \(.kind) \(.name | oneline)\n\(guarded)"' "$tmp/schema.json" >"$tmp/privileges.sql"
run_psql -q -f "$tmp/privileges.sql" >/dev/null || die "applying owners and privileges failed"

say "restored $(jq -r '.id' "$M") into $(psql -X -At -d "$TARGET" -c 'SELECT pg_catalog.current_database()'); run ANALYZE before production use"
