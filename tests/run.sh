#!/usr/bin/env bash
# Runs the whole test suite: unit, service and black-box tests on SQLite and on a throwaway
# PostgreSQL cluster (started by the harness with initdb/postgres in a temp dir, removed after).
# Installs PostgreSQL from Debian's packages first if this machine has none.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${MADOGUCHI_TEST_PG_URL:-}" ]; then
  echo "tests/run.sh: installing PostgreSQL (apt-get)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

exec cargo test --workspace --locked --no-fail-fast "$@"
