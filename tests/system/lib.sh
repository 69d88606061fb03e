# Shared helpers of the system tests (sourced).  Sets top, BIN, BUILD,
# TESTBED_DIR, loads testbed.env, and offers check helpers that count
# failures; end every test with "finish".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/bin}
BUILD=${BUILD:-$top/build}
TESTBED_DIR=${TESTBED_DIR:-$BUILD/testbed}
export BIN BUILD TESTBED_DIR
if [ ! -r "$TESTBED_DIR/testbed.env" ]; then
    echo "FAIL: $TESTBED_DIR/testbed.env missing (scripts/testbed.sh start not run?)"
    exit 1
fi
# shellcheck disable=SC1091
. "$TESTBED_DIR/testbed.env"
PROBE="$BIN/ntspool-probe"
failures=0
checks=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { checks=$((checks + 1)); echo "ok:   $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }

# probe NAME ARGS...: run ntspool-probe --json, keep stdout in $tmp/NAME.json
# and the exit status in $tmp/NAME.rc.
probe() {
    name=$1
    shift
    "$PROBE" --json "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
    echo $? >"$tmp/$name.rc"
}

# expect NAME JQ-EXPR WANT: the jq expression on NAME's JSON prints WANT.
expect() {
    got=$(jq -r "$2" "$tmp/$1.json" 2>&1 | tr '\n' ' ' | sed 's/ $//')
    if [ "$got" = "$3" ]; then
        ok "$1: $2 = $3"
    else
        bad "$1: $2 = '$got', want '$3'"
        sed 's/^/      /' "$tmp/$1.err" | tail -n 5
    fi
}

# expect_true NAME JQ-EXPR: the expression is true.
expect_true() {
    expect "$1" "$2" true
}

# expect_rc NAME STATUS
expect_rc() {
    got=$(cat "$tmp/$1.rc")
    if [ "$got" = "$2" ]; then ok "$1: exit status $2"; else bad "$1: exit status $got, want $2"; fi
}

finish() {
    echo "$checks checks, $failures failed"
    [ "$failures" -eq 0 ]
}

# ---- a test's setting up (every test that runs ntspoold) ----------------------

# need_tools TOOL...: FAIL and exit 1 unless each command is installed.
need_tools() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || { echo "FAIL: $t not installed"; exit 1; }
    done
}

# stop_at_exit VAR...: when the test exits, stop the process whose pid each
# named variable holds at that time (empty: none), wait for it, and remove
# $tmp; INT, TERM and HUP exit 1 (and so clean up too).  Replaces lib.sh's
# own EXIT trap.
stop_at_exit() {
    STOP_VARS="$*"
    trap stop_vars EXIT
    trap 'exit 1' INT TERM HUP
}
# shellcheck disable=SC2317 # called by the trap
stop_vars() {
    for v in $STOP_VARS; do
        eval "p=\${$v:-}"
        if [ -n "$p" ]; then
            kill "$p" 2>/dev/null
            wait "$p" 2>/dev/null
        fi
    done
    rm -rf "$tmp"
}

# ntspoold_conf: write the configuration $CONF of an ntspoold listening on
# 127.0.0.1:$PORT, its files under $tmp/var: PORT (a free_port unless the
# test set it) and CONF ($tmp/ntspoold.conf unless set) are chosen at the
# first call, URL is the service's base URL.
# The lines on stdin follow; they may open [http] or [store] again for more
# keys (a key still comes once).
PORT="" URL="" CONF=""
ntspoold_conf() {
    PORT=${PORT:-$(free_port)}
    URL=http://127.0.0.1:$PORT
    CONF=${CONF:-$tmp/ntspoold.conf}
    {
        printf '[http]\nlisten = 127.0.0.1:%s\n' "$PORT"
        printf '[store]\ndatabase = %s\nsecret_file = %s\n' "$tmp/var/ntspool.db" "$tmp/var/secret"
        cat
    } >"$CONF"
}

# ---- driving ntspoold over HTTP (040, 041) ------------------------------------

# free_port: a loopback TCP port nobody listens on now, at 40000 or above
# (ports below are kept for other uses on shared machines)
free_port() {
    python3 -c 'import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p >= 40000: print(p); break'
}

# ntspoold_start CONF LOG URL: start $BIN/ntspoold -c CONF in a user+mount
# namespace of its own whose /etc/hosts gives "localhost" both 127.0.0.1 and
# ::1 (this machine's may have no IPv6 entry, and the v6 kinds need one);
# same network, so it reaches the test bed.  unshare execs: DPID is
# ntspoold's pid.  Waits until URL/healthz answers; 1 if it never does.
ntspoold_start() {
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$tmp/hosts"
    unshare --user --map-root-user --mount sh -c \
        'mount --bind "$1" /etc/hosts && exec "$2" -c "$3"' sh "$tmp/hosts" \
        "$BIN/ntspoold" "$1" 2>"$2" &
    DPID=$!
    i=0
    until curl -s -o /dev/null "$3/healthz" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$DPID" 2>/dev/null; then
            echo "ntspoold did not start:"
            cat "$2"
            return 1
        fi
        sleep 0.1
    done
}

# api NAME METHOD PATH [BODY] [TOKEN]: one request to $URL with the bearer
# TOKEN (default $TOKEN; "" for none); status in $tmp/NAME.rc, body in
# $tmp/NAME.json, headers in $tmp/NAME.hdr.
api() {
    name=$1 method=$2 path=$3 body=${4:-} tok=${5-$TOKEN}
    set -- -s -D "$tmp/$name.hdr" -o "$tmp/$name.json" -w '%{http_code}' -X "$method" \
        --max-time 10
    [ -n "$tok" ] && set -- "$@" -H "Authorization: Bearer $tok"
    [ -n "$body" ] && set -- "$@" -H 'Content-Type: application/json' --data-binary "$body"
    curl "$@" "$URL$path" >"$tmp/$name.rc" 2>/dev/null
    : >"$tmp/$name.err"
}

# status_is NAME WANT [DESCRIPTION]
status_is() {
    got=$(cat "$tmp/$1.rc")
    if [ "$got" = "$2" ]; then ok "${3:-$1}: HTTP $2"; else
        bad "${3:-$1}: HTTP $got, want $2"
        head -c 300 "$tmp/$1.json"
        echo
    fi
}

# error_is NAME STATUS CODE: the status and the error code of the body
error_is() {
    status_is "$1" "$2"
    expect "$1" '.error.code' "$3"
}

# wait_for SECONDS JQ-FILTER PATH: poll GET PATH until the filter is true
# (the last answer stays in $tmp/wait.json); 1 on timeout.
wait_for() {
    end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -le "$end" ]; do
        api wait GET "$3"
        if [ "$(cat "$tmp/wait.rc")" = 200 ] &&
            jq -e "$2" "$tmp/wait.json" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    return 1
}

# ---- processes and logs (050, 080) ---------------------------------------------

# agent_conf N LEVEL: $tmp/mN.conf, an agent of $URL with the key in
# $tmp/keyN and the spool $tmp/spoolN, probing the test bed, logging at LEVEL
agent_conf() {
    cat >"$tmp/m$1.conf" <<EOF
[monitor]
url = $URL
key_file = $tmp/key$1
probe_ca_file = $TB_CA
spool = $tmp/spool$1
allow_private = yes
clock_check = no
[log]
level = $2
EOF
}

# agent_start NAME CONF: ntspool-monitor -c CONF in a namespace whose
# /etc/hosts gives localhost both families (as ntspoold_start); pid in $APID.
agent_start() {
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$tmp/hosts"
    unshare --user --map-root-user --mount sh -c \
        'mount --bind "$1" /etc/hosts && exec "$2" -c "$3"' sh "$tmp/hosts" \
        "$BIN/ntspool-monitor" "$2" 2>"$tmp/$1.log" &
    APID=$!
}

# stop_pid PID [SECONDS]: SIGTERM, at most SECONDS (10), then SIGKILL; the
# exit status in $st.
stop_pid() {
    kill -TERM "$1" 2>/dev/null
    ( sleep "${2:-10}"; kill -KILL "$1" 2>/dev/null ) &
    killer=$!
    wait "$1"
    st=$?
    kill "$killer" 2>/dev/null
    wait "$killer" 2>/dev/null
}

# stat_of LOG FIELD: the number after FIELD in the last stats line of LOG
stat_of() {
    grep 'stats:' "$1" | tail -n 1 | sed -n "s/.*[ (]$2 \([0-9]*\).*/\1/p"
}

wait_log() { # SECONDS FILE PATTERN
    end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -le "$end" ]; do
        grep -q "$3" "$2" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
