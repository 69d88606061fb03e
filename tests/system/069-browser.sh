#!/bin/sh
# System test: a real browser (Debian's chromium, headless, driven by
# python3-selenium and chromium-driver; tests/system/browser.py) registers,
# logs in, adds the test bed's healthy chronyd as a source, reads the token
# page, waits for a score above 0, and opens the details page (SVG graph,
# samples table).  Screenshots of each page, at desktop and phone width, go
# to $BUILD/screenshots/.  A missing browser is a failure under CI
# (CI=true), a skip (77) elsewhere.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's, which has python3-selenium
missing=""
for f in /usr/bin/chromium /usr/bin/chromedriver $PY; do
    [ -x "$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ! $PY -c 'import selenium' 2>/dev/null && missing="python3-selenium"
if [ -n "$missing" ]; then
    echo "missing:$missing (apt-get install chromium chromium-driver python3-selenium)"
    if [ "${CI:-}" = true ]; then echo "FAIL: no browser under CI"; exit 1; fi
    exit 77
fi
DPID=""
stop_at_exit DPID

ntspoold_conf <<EOC
[monitor]
interval = 2
ke_timeout = 2
ntp_timeout = 0.5
ca_file = $TB_CA
allow_private = yes
clock_check = no
[log]
level = info
EOC
ntspoold_start "$CONF" "$tmp/d.log" "$URL" || exit 1
SHOTS=$BUILD/screenshots
mkdir -p "$SHOTS"
# chromium keeps its profile under HOME
HOME=$tmp timeout 300 $PY "$(dirname "$0")/browser.py" "$URL" "$SHOTS" \
    browser@example.org correct-horse-battery localhost "$TB_SYNC_KE" 90
st=$?
[ $st -eq 0 ] && ok "the browser walk passed" || bad "the browser walk (status $st)"
finish
