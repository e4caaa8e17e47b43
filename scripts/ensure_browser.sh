#!/usr/bin/env bash
# Called by `make test` before pytest: the browser test (tests/serve/test_page.py) drives
# Debian's Chromium with Playwright (never a browser download of its own). Installs
# chromium and chromium-driver when they are missing and this can (root, apt-get);
# otherwise says that the browser test will be skipped. Never fails the test run.
set -u
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log="$(mktemp "${TMPDIR:-/tmp}/selfsim-apt.XXXXXX")"
    if { apt-get update -qq \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 \
              chromium chromium-driver; } >"$log" 2>&1; then
        echo "ensure_browser: installed chromium and chromium-driver (for the browser test)"
        rm -f "$log"
    else
        echo "ensure_browser: could not install chromium (apt-get failed, see $log); the browser test will be skipped"
    fi
else
    echo "ensure_browser: no /usr/bin/chromium; the browser test will be skipped" \
         "(install it with: sudo apt-get install chromium chromium-driver)"
fi
exit 0
