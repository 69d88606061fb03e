#!/bin/sh
# The main job for a newcomer: start the loopback test bed, start ntspoold on
# its embedded SQLite database with a demo configuration, create an account
# and register the test bed's healthy chronyd as a time source through the
# JSON API, then print the URL, the commands to look around, and the score as
# it rises.  Stops what it started (by pid) on exit or Ctrl-C.
#
#   sh scripts/demo.sh            run for DEMO_SECONDS (default 600; 0: until Ctrl-C)
#
# Environment: DEMO_PORT (default 8080), DEMO_INTERVAL (probe interval in s,
# default 5), DEMO_DIR (default build/demo).
# The demo sets clock_check = no: a machine without a time daemon reports its
# clock unsynchronised, and the monitor would rightly discard every sample.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$top/bin}
BUILD=${BUILD:-$top/build}
PORT=${DEMO_PORT:-8080}
INTERVAL=${DEMO_INTERVAL:-5}
SECONDS_MAX=${DEMO_SECONDS:-600}
DIR=${DEMO_DIR:-$BUILD/demo}
TESTBED_DIR=${TESTBED_DIR:-$BUILD/testbed}
export BUILD TESTBED_DIR
URL=http://127.0.0.1:$PORT

[ -x "$BIN/ntspoold" ] || { echo "demo: $BIN/ntspoold missing: run make first" >&2; exit 1; }
for t in curl jq; do
    command -v $t >/dev/null 2>&1 || { echo "demo: $t missing: run scripts/setup.sh" >&2; exit 1; }
done

DPID=""
TPID=""
started_testbed=""
cleanup() {
    if [ -n "$TPID" ]; then
        kill "$TPID" 2>/dev/null || true
        wait "$TPID" 2>/dev/null || true
    fi
    if [ -n "$DPID" ]; then
        kill "$DPID" 2>/dev/null || true
        wait "$DPID" 2>/dev/null || true
        echo "demo: ntspoold stopped"
    fi
    if [ -n "$started_testbed" ]; then
        sh "$top/scripts/testbed.sh" stop >/dev/null 2>&1 || true
        echo "demo: test bed stopped"
    fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM HUP

if [ ! -r "$TESTBED_DIR/testbed.env" ] || ! sh "$top/scripts/testbed.sh" status >/dev/null 2>&1; then
    echo "demo: starting the test bed (real chronyd NTS servers on loopback)..."
    sh "$top/scripts/testbed.sh" start >"$DIR.testbed.log" 2>&1 || {
        echo "demo: the test bed did not start:" >&2; tail -n 20 "$DIR.testbed.log" >&2; exit 1; }
    started_testbed=1
fi
# shellcheck disable=SC1091
. "$TESTBED_DIR/testbed.env"

mkdir -p "$DIR"
cat >"$DIR/ntspoold.conf" <<EOF
# ntspoold demo configuration (scripts/demo.sh)
[http]
listen = 127.0.0.1:$PORT
[store]
database = $DIR/var/ntspool.db
secret_file = $DIR/var/secret
[monitor]
interval = $INTERVAL
ca_file = $TB_CA
allow_private = yes
clock_check = no
[log]
level = info
EOF
"$BIN/ntspoold" -c "$DIR/ntspoold.conf" 2>"$DIR/ntspoold.log" &
DPID=$!
i=0
until curl -s -o /dev/null "$URL/healthz" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $DPID 2>/dev/null; then
        echo "demo: ntspoold did not start:" >&2; tail -n 20 "$DIR/ntspoold.log" >&2; exit 1
    fi
    sleep 0.1
done

EMAIL=demo@example.org
if ! TOKEN=$("$BIN/ntspoold" -c "$DIR/ntspoold.conf" user-add "$EMAIL" 2>/dev/null); then
    TOKEN=$("$BIN/ntspoold" -c "$DIR/ntspoold.conf" token-add "$EMAIL" "demo-$(date +%s)")
fi
SRC=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/api/v1/time-sources" |
    jq -r ".time_sources[] | select(.host == \"localhost\" and .port == $TB_SYNC_KE) | .id")
if [ -z "$SRC" ]; then
    curl -s -H "Authorization: Bearer $TOKEN" -d "{\"host\": \"localhost\", \"port\": $TB_SYNC_KE}" \
        "$URL/api/v1/time-sources" >"$DIR/source.json"
    SRC=$(jq -r .id "$DIR/source.json")
    echo "demo: registered localhost:$TB_SYNC_KE (the test bed's healthy chronyd) as source $SRC"
    echo "demo: its pool token (shown once): $(jq -r .token "$DIR/source.json")"
fi

# A second source that passes the pool kinds too: our own NTS test server
# (tests/server/ntstestd, which implements the pool's extension records),
# configured with the token the registration printed, as an operator would
# configure ntpd-rs or the patched chrony.
SRV=$BUILD/tests/ntstestd
SRC2=""
if [ ! -x "$SRV" ]; then
    make -s "$SRV" >/dev/null 2>&1 || true
fi
if [ -x "$SRV" ]; then
    KP=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    curl -s -H "Authorization: Bearer $TOKEN" -d "{\"host\": \"localhost\", \"port\": $KP}" \
        "$URL/api/v1/time-sources" >"$DIR/source2.json"
    SRC2=$(jq -r .id "$DIR/source2.json")
    "$SRV" --cert "$TB_DIR/server.crt" --key "$TB_DIR/server.key" --ke-port "$KP" \
        --token "$(jq -r .token "$DIR/source2.json")" 2>"$DIR/ntstestd.log" &
    TPID=$!
    echo "demo: registered localhost:$KP (ntstestd, pool records, configured with its token) as source $SRC2"
fi

cat <<EOF

ntspoold is serving $URL  (log: $DIR/ntspoold.log, database: $DIR/var/ntspool.db)

The demo account $EMAIL has this API token: $TOKEN

In a browser: open $URL/set-password and give the demo account a password
(its e-mail, the API token above, a password of 10 characters or more), log
in, and watch its sources' scores rise on the Time sources page and the
details pages.  Or register an account of your own at $URL/register and add
another server of the test bed (host localhost, port $TB_SERVERNAME_KE) to see
the token page with the configuration for ntpd-rs, chrony and NTPsec.

Look around (in another terminal):
  curl -s -H "Authorization: Bearer $TOKEN" $URL/api/v1/time-sources | jq
  curl -s -H "Authorization: Bearer $TOKEN" "$URL/api/v1/time-sources/$SRC/samples?limit=2" | jq
  curl -s "$URL/scores/localhost:$TB_SYNC_KE/log?limit=10"
  curl -s $URL/metrics | grep ntspool_probes_total

The built-in monitor probes every $INTERVAL s; a score rises by about one point
per good probe towards 20 and the source serves pool traffic above 10 in every
kind.  Stock chronyd has no pool records (the pool-v4/pool-v6 kinds), so those
kinds fail with "pool records not supported" and keep it out of the pool; the
second source (our test server, configured with its token) passes them too
and joins the pool once all its kinds are above 10.
Ctrl-C stops the demo.

EOF
t0=$(date +%s)
while :; do
    now=$(date +%s)
    if [ "$SECONDS_MAX" -gt 0 ] && [ $((now - t0)) -ge "$SECONDS_MAX" ]; then break; fi
    for id in $SRC $SRC2; do
        curl -s -H "Authorization: Bearer $TOKEN" "$URL/api/v1/time-sources/$id" |
            jq -r --arg t "$((now - t0))" '"t=\($t)s  \(.host):\(.port)  " + ([.kinds | to_entries[] |
                "\(.key) \(if .value.score == null then "n/a" else (.value.score * 10 | round / 10 | tostring) end)"]
                | join("  ")) + "  in_pool=\(.in_pool)" + (if .reason then "  (\(.reason))" else "" end)'
    done
    if ! kill -0 $DPID 2>/dev/null; then echo "demo: ntspoold exited" >&2; exit 1; fi
    sleep "$INTERVAL"
done
