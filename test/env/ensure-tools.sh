#!/usr/bin/env bash
# Makes sure the command-line tools some tests check our output with are installed:
# promtool (Debian's prometheus package) for `promtool check metrics` on /metrics. Called
# by `npm test` (pretest); when the tools are there it only looks them up. Never prompts.
# Under CI=true a failure is fatal; elsewhere it warns and those tests report themselves skipped.
set -u

say() { echo "ensure-tools: $*" >&2; }
as_root() {
  if [ "$(id -u)" = "0" ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

if ! command -v promtool >/dev/null 2>&1; then
  say "promtool not found: installing Debian's prometheus package with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! { as_root apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1 ||
    { as_root apt-get update -qq >/dev/null && as_root apt-get install -y -q --no-install-recommends prometheus >/dev/null; }; }; then
    say "could not install prometheus (for promtool)"
    if [ "${CI:-}" = "true" ]; then exit 1; fi
    exit 0
  fi
  # The package's service is not wanted on a test machine.
  as_root sh -c 'command -v service >/dev/null && service prometheus stop' >/dev/null 2>&1 || true
fi
exit 0
