#!/usr/bin/env bash
# The web UI's browser: Debian's chromium package (installed with the system's
# apt, as the tests launch /usr/bin/chromium headless) and playwright-core from
# the npm registry, which drives it, into ~/.cache/flinkrs/playwright-core-<version>/.
# Nothing of it is committed; the Rust tests find both through the
# flinkrs-testbed crate (`Browser`).
source "$(dirname "$0")/lib.sh"
testbed_begin playwright-core "$PLAYWRIGHT_CORE_VERSION"
# The one line names both parts: "testbed: chromium + playwright-core <version>: …".
COMPONENT="chromium + playwright-core"

chromium_installed() {
    [ "$(dpkg-query -W -f='${Status}' chromium 2>/dev/null)" = "install ok installed" ] && [ -x /usr/bin/chromium ]
}
playwright_installed() {
    [ -f "$DEST/node_modules/playwright-core/package.json" ]
}
chromium_installed && playwright_installed && testbed_reused

: >"$LOG"
if ! chromium_installed; then
    [ "$(id -u)" -eq 0 ] || testbed_fail "installing Debian's chromium needs root (or: apt-get install chromium)"
    testbed_need apt-get flock
    testbed_system_apt chromium ||
        testbed_fail "apt-get install chromium failed"
fi
/usr/bin/chromium --headless --no-sandbox --disable-gpu --version >>"$LOG" 2>&1 ||
    testbed_fail "/usr/bin/chromium does not run"

if ! playwright_installed; then
    testbed_need node npm
    rm -rf "$PARTIAL"
    mkdir -p "$PARTIAL"
    echo '{"private": true}' >"$PARTIAL/package.json"
    (cd "$PARTIAL" && npm install --no-audit --no-fund --ignore-scripts --save-exact \
        "playwright-core@$PLAYWRIGHT_CORE_VERSION") >>"$LOG" 2>&1 ||
        testbed_fail "npm install playwright-core@$PLAYWRIGHT_CORE_VERSION failed"
    (cd "$PARTIAL" && node -e "require('playwright-core')") >>"$LOG" 2>&1 ||
        testbed_fail "the installed playwright-core does not load"
    rm -rf "$DEST"
    mv "$PARTIAL" "$DEST" || testbed_fail "could not move $PARTIAL to $DEST"
fi
echo "testbed: $COMPONENT $VERSION: installed in $(($(date +%s) - TESTBED_STARTED))s"
