#!/usr/bin/env bash
# Makes sure a Docker engine answers and the sandbox image caduceus-sandbox:latest exists,
# so the Docker tests run against a real engine. Called by `npm test` (pretest) on every
# run: when everything is ready it only runs `docker info` and `docker image inspect`.
# Never prompts. Under CI=true any failure is fatal; elsewhere it warns and the Docker
# tests report themselves skipped.
set -u

LOG=/tmp/caduceus-dockerd.log
IMAGE="${CADUCEUS_SANDBOX_IMAGE:-caduceus-sandbox:latest}"
ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

say() { echo "ensure-docker: $*" >&2; }
fail() {
  say "$*"
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  say "continuing without Docker (set CI=true to make this fatal)"
  exit 0
}
# Root runs commands directly; otherwise only passwordless sudo (never a prompt).
as_root() {
  if [ "$(id -u)" = "0" ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

engine_up() { docker info >/dev/null 2>&1; }

install_docker() {
  say "dockerd not found: installing docker.io with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >/dev/null || return 1
  as_root apt-get install -y -qq --no-install-recommends docker.io >/dev/null || return 1
}

# Picks the flags this machine needs: overlay2 where the kernel has overlayfs, vfs
# otherwise; iptables only when the iptables binary can talk to the kernel.
dockerd_flags() {
  local flags=()
  if grep -qw overlay /proc/filesystems 2>/dev/null; then flags+=(--storage-driver=overlay2); else flags+=(--storage-driver=vfs); fi
  if ! iptables -L -n >/dev/null 2>&1; then flags+=(--iptables=false --ip6tables=false --bridge=none); fi
  echo "${flags[@]}"
}

start_dockerd() {
  local flags
  flags="$(dockerd_flags)"
  say "starting dockerd $flags (log: $LOG)"
  local sudo=()
  if [ "$(id -u)" != "0" ]; then sudo=(sudo -n); fi
  # A daemon killed a moment ago lingers until it is reaped, and a new one refuses to start
  # while its pid file names a process that exists: wait for it, then drop the stale file.
  for _ in $(seq 1 50); do pgrep -x dockerd >/dev/null 2>&1 || break; sleep 0.2; done
  as_root rm -f /var/run/docker.pid
  # Its own session, so ending the test run does not take the engine down with it.
  # shellcheck disable=SC2086 # flags are words on purpose
  "${sudo[@]}" setsid nohup dockerd $flags >"$LOG" 2>&1 </dev/null &
  local pid=$!
  for _ in $(seq 1 120); do
    if [ -S /var/run/docker.sock ] && engine_up; then return 0; fi
    # Gone already (a bad flag, a held pid file): no point in waiting the full minute.
    if ! kill -0 "$pid" 2>/dev/null && ! pgrep -x dockerd >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  say "dockerd did not answer within 60 s; last lines of $LOG:"
  tail -n 20 "$LOG" >&2 || true
  return 1
}

if ! engine_up; then
  if [ -n "${DOCKER_HOST:-}" ]; then fail "DOCKER_HOST=$DOCKER_HOST does not answer 'docker info'"; fi
  if ! command -v dockerd >/dev/null 2>&1; then install_docker || fail "could not install docker.io"; fi
  if ! command -v docker >/dev/null 2>&1; then fail "the docker client is missing after installing docker.io"; fi
  # A daemon that is starting already (another test run) gets time instead of a second one;
  # a killed one that has not been reaped yet (state Z) does not count.
  live_dockerd() { ps -C dockerd -o stat= 2>/dev/null | grep -qv '^Z'; }
  for _ in $(seq 1 60); do
    if engine_up || ! live_dockerd; then break; fi
    sleep 1
  done
  engine_up || start_dockerd || fail "could not start dockerd"
fi

if docker image inspect "$IMAGE" >/dev/null 2>&1; then exit 0; fi
say "building $IMAGE"
CLI="$ROOT_DIR/dist/app/cli.js"
if [ ! -f "$CLI" ]; then (cd "$ROOT_DIR" && npx tsc -p tsconfig.json >/dev/null) || true; fi
node "$CLI" sandbox build --tag "$IMAGE" || fail "could not build $IMAGE"
