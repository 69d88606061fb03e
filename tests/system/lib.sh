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
