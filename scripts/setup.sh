#!/bin/sh
# Install every build and test dependency of ntspool on Debian 12. Idempotent.
# chrony is installed as a package but never started as a system service;
# ntpsec conflicts with chrony, so the test bed unpacks it privately (testbed.sh).
set -eu
PKGS="build-essential pkg-config clang llvm libclang-rt-14-dev
libssl-dev libevent-dev libjansson-dev libsqlite3-dev sqlite3 libcurl4-openssl-dev
libinih-dev libargon2-dev wrk curl libxml2-utils
openssl ca-certificates chrony iproute2 util-linux procps python3 jq
chromium chromium-driver python3-selenium"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ -n "$missing" ]; then
    # Keep the chrony package from starting a system daemon that would steer
    # the clock: deny service starts while installing, then lift the denial.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
        rmpolicy=1
    fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
    [ -z "${rmpolicy:-}" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now chrony >/dev/null 2>&1 || true
fi
echo "setup: dependencies present"
