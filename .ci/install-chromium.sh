#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for tests/workflow/test_dashboard_browser.py (the live
# progress page driven end to end in a real browser). Needs root and apt-get; installs nothing
# when a chromium is already there. `make test` calls it and goes on if it cannot install:
# the browser test then skips and says why.
set -euo pipefail
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-chromium: needs root and apt-get (install Debian's chromium package by hand)" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
# a fresh CI image may have no package lists yet
apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium >/dev/null
}
command -v chromium >/dev/null
