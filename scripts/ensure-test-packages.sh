#!/usr/bin/env bash
# The tests start their own servers from Debian packages: a throwaway PostgreSQL cluster
# (`postgresql`), a headless Chromium for the browser tests (`chromium`, `chromium-driver`),
# an IMAP server for the email channel's tests (`dovecot-imapd`) and a speech synthesiser
# that makes calm and agitated recordings for the phone-call tests (`espeak-ng`).
# Install what is missing when we may (root with apt); otherwise say what to install and stop:
# these tests are never silently skipped.
set -euo pipefail
missing=()
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! command -v initdb >/dev/null; then
  missing+=(postgresql)
fi
if [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium chromium-driver)
fi
if ! command -v dovecot >/dev/null && [ ! -x /usr/sbin/dovecot ]; then
  missing+=(dovecot-imapd)
fi
if ! command -v espeak-ng >/dev/null; then
  missing+=(espeak-ng)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing for the tests: ${missing[*]} (apt-get install)..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "error: the tests need these Debian packages: ${missing[*]}" >&2
echo "Install them (sudo apt-get install ${missing[*]}) and run make test again." >&2
exit 1
