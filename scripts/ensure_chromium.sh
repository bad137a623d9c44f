#!/usr/bin/env bash
# Debian's Chromium for the page tests (Playwright drives it; no browser is ever downloaded).
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for browser tests"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
else
  echo "!! /usr/bin/chromium is missing: install Debian's 'chromium' package for the page tests" >&2
  exit 1
fi
