#!/usr/bin/env bash
# Runs the whole test suite: unit, service and black-box tests on SQLite and on a throwaway
# PostgreSQL cluster (started by the harness with initdb/postgres in a temp dir, removed after).
# Installs the real peers first where missing: PostgreSQL, Dovecot, slapd and Chromium from
# Debian's packages; aiosmtpd, line-bot-sdk and the Bot Framework packages from PyPI.
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
# `ss`, to read the server's listen backlog.
command -v ss >/dev/null || need+=(iproute2)
# OpenLDAP with ppolicy for the password reset, Chromium for the reset page.
[ -x /usr/sbin/slapd ] || need+=(slapd ldap-utils)
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || need+=(chromium chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${need[*]} (apt-get)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# From PyPI: the SMTP server the replies go to, and LINE's official SDK (it builds and signs
# the test webhooks and validates our reply and push bodies).
py_need=()
python3 -c "import aiosmtpd" 2>/dev/null || py_need+=(aiosmtpd)
python3 -c "import linebot.v3" 2>/dev/null || py_need+=("line-bot-sdk>=3,<4")
# Microsoft's Bot Framework schema (activities) and connector (brings PyJWT and cryptography,
# which the local Bot Framework signs its tokens with).
python3 -c "import botbuilder.schema, jwt, cryptography" 2>/dev/null || py_need+=("botbuilder-schema>=4.17,<5" "botframework-connector>=4.17,<5")
if [ ${#py_need[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${py_need[*]} (pip)" >&2
  python3 -m pip install -q "${py_need[@]}"
fi

exec cargo test --workspace --locked --no-fail-fast "$@"
