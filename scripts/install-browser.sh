#!/usr/bin/env bash
# Install what the browser tests (tests/browser, marker `browser`) need: Debian's Chromium and
# Playwright for Python. Playwright drives /usr/bin/chromium; `playwright install` is never run,
# because it downloads a browser build from outside the package registries.
#
# Usage: scripts/install-browser.sh [path/to/venv]   (default .venv). Needs root for apt-get.
# Exits non-zero when either part cannot be installed; the tests then skip with a message.
set -euo pipefail

VENV="${1:-.venv}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-browser: not root and no sudo; cannot apt-get install chromium" >&2
    exit 1
  fi
fi

if [ -x /usr/bin/chromium ]; then
  echo "install-browser: chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
else
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation
fi

"$VENV/bin/python" -m pip install -q playwright
"$VENV/bin/python" - <<'PY'
import playwright
print("install-browser: playwright for Python", getattr(playwright, "__version__", "installed"))
PY
