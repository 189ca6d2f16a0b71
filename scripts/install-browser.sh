#!/bin/sh
# Installs Debian's Chromium for the browser tests (tests/browser). Playwright's own
# browser download (`npx playwright install`) does not work on this machine, so the tests
# drive /usr/bin/chromium through playwright-core. Idempotent: does nothing if present.
set -eu
if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
