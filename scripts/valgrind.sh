#!/bin/sh
# ntspoold (and a remote ntspool-monitor) under valgrind memcheck through one
# full probe-store-serve cycle against the loopback test bed (issue 10, item
# 4):
#   - the service starts on a fresh database (migrations, secret file);
#   - user-add; a source on the test bed's healthy chronyd is added through
#     the API; the built-in monitor resolves, probes (NTS-KE over TLS 1.3,
#     NTS-protected NTP), scores and stores it;
#   - the score is served: GET /api/v1/time-sources/{id}, /scores/{host}/json,
#     /scores/{host}/log, the samples and scores lists, /healthz, /metrics;
#   - pages: /, /login, set-password (an argon2 hash and a session), the time
#     sources list and the source's details page (graph);
#   - a remote ntspool-monitor (also under valgrind) fetches its work and
#     submits; its samples are stored;
#   - SIGTERM to both: a clean exit.
# Fails (exit 1) on any memcheck error or definite/indirect/possible leak in
# either program (--error-exitcode, --errors-for-leak-kinds), or when a step of
# the cycle does not happen.  scripts/valgrind.supp holds suppressions only
# for proven library-internal noise, each explained there.
#   TB_PORT_OFFSET=... TESTBED_DIR=... sh scripts/testbed.sh start
#   TB_PORT_OFFSET=... TESTBED_DIR=... sh scripts/valgrind.sh
# About 1-2 minutes (valgrind runs the programs ~20-50x slower).
# Loopback only; the service's port is free_port's (>= 40000).
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/bin}
BUILD=${BUILD:-$root/build}
. "$root/tests/system/lib.sh"
top=$root
. "$top/tests/system/web-lib.sh"

D=$BIN/ntspoold
M=$BIN/ntspool-monitor
VGERR=99
for tool in valgrind jq curl sqlite3 python3 unshare; do
    command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool not installed"; exit 1; }
done
for x in "$D" "$M"; do [ -x "$x" ] || { echo "FAIL: $x missing (make)"; exit 1; }; done

DPID="" APID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    for p in $APID $DPID; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

VG="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes --num-callers=30
    --error-exitcode=$VGERR --suppressions=$top/scripts/valgrind.supp --gen-suppressions=all"

# vg_start NAME CONF PROGRAM: PROGRAM -c CONF under valgrind in a user+mount
# namespace whose /etc/hosts gives localhost both families (lib.sh's
# ntspoold_start does the same without valgrind); unshare execs sh, which
# execs valgrind: the pid is valgrind's (the program's).  Log in $tmp/NAME.log.
vg_start() {
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$tmp/hosts"
    # shellcheck disable=SC2086 # VG is a word list
    unshare --user --map-root-user --mount sh -c \
        'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$tmp/hosts" \
        $VG --log-file="$tmp/$1.vg" "$3" -c "$2" 2>"$tmp/$1.log" &
    VPID=$!
}

# vg_stop PID NAME: SIGTERM, at most 60 s, then SIGKILL; checks the exit
# status and prints valgrind's summary.
vg_stop() {
    stop_pid "$1" 60
    sed -n '/HEAP SUMMARY/,$p' "$tmp/$2.vg" | sed 's/^==[0-9]*== /    /'
    case $st in
    0) ok "$2: SIGTERM, exit 0, no memcheck error, no leak" ;;
    "$VGERR")
        bad "$2: memcheck errors or leaks:"
        sed 's/^==[0-9]*== //' "$tmp/$2.vg" | grep -v '^ *$' | head -n 200 ;;
    *) bad "$2: exit status $st"; tail -n 20 "$tmp/$2.log" ;;
    esac
}

DB=$tmp/var/ntspool.db
ntspoold_conf <<EOF
[monitor]
interval = 4
ke_timeout = 10
ntp_timeout = 2
ca_file = $TB_CA
allow_private = yes
clock_check = no
[log]
level = info
EOF

echo "== ntspoold under valgrind"
vg_start d "$CONF" "$D"
DPID=$VPID
i=0
until curl -s -o /dev/null "$URL/healthz" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 "$DPID" 2>/dev/null; then
        bad "ntspoold did not start under valgrind"
        tail -n 20 "$tmp/d.log" "$tmp/d.vg"
        DPID=""
        finish
        exit 1
    fi
    sleep 0.1
done
ok "ntspoold listens after $((i / 10)) s"
ADMIN=ops@example.org
TOKEN=$("$D" -c "$CONF" user-add "$ADMIN" 2>/dev/null)
MKEY=$("$D" -c "$CONF" monitor-add remote-vg 2>/dev/null)
[ -n "$TOKEN" ] && [ -n "$MKEY" ] && ok "user-add, monitor-add" || bad "user-add/monitor-add failed"
printf '%s\n' "$MKEY" >"$tmp/key1"

echo "== a test bed source through the API, probed by the built-in monitor"
api add POST /api/v1/time-sources "{\"host\": \"localhost\", \"port\": $TB_SYNC_KE}"
status_is add 201 "add localhost:$TB_SYNC_KE"
SID=$(jq -r .id "$tmp/add.json")
HOST=localhost:$TB_SYNC_KE
if wait_for 90 '.kinds["nts-v4"].score != null and .kinds["nts-v6"].score != null' "/api/v1/time-sources/$SID"; then
    ok "nts-v4 and nts-v6 sampled and scored"
else
    bad "no samples: $(head -c 400 "$tmp/wait.json")"
fi

echo "== a remote ntspool-monitor under valgrind submits"
agent_conf 1 info
vg_start a "$tmp/m1.conf" "$M"
APID=$VPID
q="SELECT count(*) FROM samples s JOIN monitors m ON m.id = s.monitor WHERE m.name = 'remote-vg'"
end=$(($(date +%s) + 120))
while [ "$(sqlite3 "$DB" "$q" 2>/dev/null)" = 0 ] && [ "$(date +%s)" -le "$end" ]; do sleep 1; done
n=$(sqlite3 "$DB" "$q" 2>/dev/null)
[ "${n:-0}" -gt 0 ] && ok "the agent's samples are stored ($n)" ||
    { bad "no sample of the agent"; tail -n 5 "$tmp/a.log"; }

echo "== the score served"
api s GET "/api/v1/time-sources/$SID"
status_is s 200 "GET /api/v1/time-sources/$SID"
expect s '.kinds["nts-v4"].score | type' number
api j GET "/scores/$HOST/json?limit=10&monitor=*"
status_is j 200 "/scores/$HOST/json"
expect j '.history | length > 0' true
api l GET "/scores/$HOST/log?limit=10"
status_is l 200 "/scores/$HOST/log"
api sm GET "/api/v1/time-sources/$SID/samples?limit=5"
status_is sm 200 "samples"
api sc GET "/api/v1/time-sources/$SID/scores"
status_is sc 200 "scores"
api w GET /monitoring/get_work "" "$MKEY"
status_is w 200 "get_work"
api h GET /healthz "" ""
status_is h 200 "/healthz"
api m GET /metrics "" ""
status_is m 200 "/metrics"
grep -q '^ntspool_samples_stored_total [1-9]' "$tmp/m.json" && ok "metrics count stored samples" ||
    bad "metrics: $(grep samples_stored "$tmp/m.json")"

echo "== pages"
web p0 "" GET /
code_is p0 200 "/"
web p1 "" GET /login
code_is p1 200 "/login"
PW=correct-horse-battery
web p2 u POST /set-password "email=$(urlenc "$ADMIN")&token=$TOKEN&password=$PW&password2=$PW"
location_is p2 /time-sources
web p3 u GET /time-sources
code_is p3 200 "time sources page"
has p3 "localhost" "the source is listed"
web p4 u GET "/time-sources/$SID"
code_is p4 200 "details page"

echo "== SIGTERM"
vg_stop "$APID" a
APID=""
vg_stop "$DPID" d
DPID=""
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] && ok "integrity_check ok" || bad "integrity_check"
finish
