#!/usr/bin/env bash
# Makes the test Docker engine a single-node swarm (`docker swarm init --advertise-addr
# 127.0.0.1`) for the Swarm backend's tests. Runs after ensure-docker.sh in `npm test`'s
# pretest; an engine already in a swarm is left as it is. Swarm mode changes nothing for
# plain containers, so the Docker backend's tests run alongside. Two suites starting at
# once serialise on a lock file. Under CI=true a failure is fatal; elsewhere the Swarm
# tests skip.
set -u

say() { echo "ensure-swarm: $*" >&2; }
fail() {
  say "$*"
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  say "continuing without a swarm (set CI=true to make this fatal)"
  exit 0
}

state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

docker info >/dev/null 2>&1 || fail "no Docker engine answers (ensure-docker.sh runs first)"
[ "$(state)" = "active" ] && exit 0

exec 9>/tmp/caduceus-swarm.lock
flock 9
case "$(state)" in
  active) exit 0 ;;
  pending | error | locked)
    say "the engine's swarm state is $(state): leaving it and joining a fresh single-node swarm"
    docker swarm leave --force >/dev/null 2>&1 || true ;;
esac
say "docker swarm init --advertise-addr 127.0.0.1"
docker swarm init --advertise-addr 127.0.0.1 >/dev/null || fail "docker swarm init failed"
[ "$(state)" = "active" ] || fail "the engine did not become a swarm manager"
