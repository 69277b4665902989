#!/usr/bin/env bash
# Runs the whole test suite: unit, service and black-box tests on SQLite and on a throwaway
# PostgreSQL cluster (started by the harness with initdb/postgres in a temp dir, removed after).
# Installs the real peers first where missing: PostgreSQL and Dovecot from Debian's packages,
# aiosmtpd from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Real peers from Debian: PostgreSQL (unless MADOGUCHI_TEST_PG_URL points at one), Dovecot
# for IMAP, openssl for the throwaway CA.
need=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${MADOGUCHI_TEST_PG_URL:-}" ]; then
  need+=(postgresql)
fi
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${need[*]} (apt-get)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The SMTP server the replies go to, from PyPI.
if ! python3 -c "import aiosmtpd" 2>/dev/null; then
  echo "tests/run.sh: installing aiosmtpd (pip)" >&2
  python3 -m pip install -q aiosmtpd
fi

exec cargo test --workspace --locked --no-fail-fast "$@"
