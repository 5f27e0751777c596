#!/usr/bin/env bash
# Makes sure a PostgreSQL server for the tests answers on 127.0.0.1:${CADUCEUS_TEST_PG_PORT:-55432}:
# Debian's `postgresql` package (installed with apt-get when missing) and a cluster of our
# own under /var/tmp/caduceus-pg, started with pg_ctl, trusting loopback connections only.
# Called by `npm test` (pretest); when the server answers already it only runs pg_isready.
# Two suites starting at once serialise on a lock file; each test run then makes its own
# database (test/helpers/postgres.ts), so concurrent suites never share tables.
# Under CI=true any failure is fatal; elsewhere it warns and the PostgreSQL tests skip.
set -u

PORT="${CADUCEUS_TEST_PG_PORT:-55432}"
ROOT="${CADUCEUS_TEST_PG_DIR:-/var/tmp/caduceus-pg}"
DATA="$ROOT/data"
LOG="$ROOT/server.log"

say() { echo "ensure-postgres: $*" >&2; }
fail() {
  say "$*"
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  say "continuing without PostgreSQL (set CI=true to make this fatal)"
  exit 0
}
as_root() {
  if [ "$(id -u)" = "0" ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
answers() { [ -n "$(bindir)" ] && "$(bindir)/pg_isready" -q -h 127.0.0.1 -p "$PORT"; }

if answers; then exit 0; fi

if [ -z "$(bindir)" ] || [ ! -x "$(bindir)/initdb" ]; then
  say "PostgreSQL not found: installing Debian's postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >/dev/null || fail "apt-get update failed"
  as_root apt-get install -y -qq --no-install-recommends postgresql >/dev/null || fail "could not install postgresql"
fi
BIN="$(bindir)"
[ -x "$BIN/initdb" ] || fail "initdb is missing after installing postgresql"

# PostgreSQL refuses to run as root: the cluster belongs to the postgres user the package made.
if [ "$(id -u)" = "0" ]; then
  id postgres >/dev/null 2>&1 || fail "no postgres user (the postgresql package makes one)"
  run() { runuser -u postgres -- "$@"; }
  OWNER=postgres
else
  run() { "$@"; }
  OWNER="$(id -un)"
fi

mkdir -p "$ROOT"
[ "$(id -u)" = "0" ] && chown "$OWNER" "$ROOT"
exec 9>"$ROOT.lock"
flock -w 300 9 || fail "waited 5 minutes for $ROOT.lock (held by: $(fuser "$ROOT.lock" 2>/dev/null))"
# Another suite may have started it while this one waited for the lock.
if answers; then exit 0; fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  say "creating a test cluster in $DATA"
  rm -rf "$DATA"
  run "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null || fail "initdb failed"
  # Loopback only, trusted: a throw-away cluster for tests, never reachable from outside.
  cat >"$DATA/pg_hba.conf" <<HBA
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
local all all trust
HBA
  [ "$(id -u)" = "0" ] && chown "$OWNER" "$DATA/pg_hba.conf"
fi
# A server killed without its shutdown leaves a pid file that blocks the next start.
if [ -f "$DATA/postmaster.pid" ]; then
  pid="$(head -n 1 "$DATA/postmaster.pid")"
  if ! kill -0 "$pid" 2>/dev/null; then rm -f "$DATA/postmaster.pid"; fi
fi
say "starting PostgreSQL on 127.0.0.1:$PORT (log: $LOG)"
# 9>&-: the server must not inherit the lock's descriptor, or it holds the lock for its
# whole life and the next suite that finds it down (or starting) waits forever.
run "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$ROOT -c fsync=off -c max_connections=200" \
  start >/dev/null 9>&- || { tail -n 20 "$LOG" >&2; fail "could not start PostgreSQL"; }
answers || fail "PostgreSQL does not answer on 127.0.0.1:$PORT"
