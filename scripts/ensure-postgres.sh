#!/usr/bin/env bash
# The PostgreSQL tests start their own throwaway cluster from Debian's `postgresql` package.
# Install it when missing and we may (root with apt); otherwise say what to install and stop:
# the PostgreSQL tests are never silently skipped.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing PostgreSQL for the storage tests (apt-get install postgresql)..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  exit 0
fi
echo "error: the tests need PostgreSQL server binaries (initdb, pg_ctl)." >&2
echo "Install Debian's 'postgresql' package (sudo apt-get install postgresql) and run make test again." >&2
exit 1
