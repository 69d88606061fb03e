#!/bin/sh
# Run the whole suite: every unit test program, then every system test script
# against the loopback test bed (started here, stopped here).  Prints one line
# per test and ends with "N passed, N failed" alone on a line.
# Exit status 77 from a test means "skipped": under CI (CI=true) or with
# NTSPOOL_NO_SKIP=1 a skip counts as a failure, since CI installs everything.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$top/bin}
BUILD=${BUILD:-$top/build}
export BIN BUILD NTSPOOL_TOP="$top"
only=${1:-}
pass=0; fail=0; skip=0; failed=""
strict=${NTSPOOL_NO_SKIP:-}
[ "${CI:-}" = "true" ] && strict=1
logdir=$BUILD/test-logs
mkdir -p "$logdir"

record() { # name status
    case $2 in
    0) pass=$((pass + 1)); echo "PASS $1" ;;
    77) if [ -n "$strict" ]; then fail=$((fail + 1)); failed="$failed $1"; echo "FAIL $1 (skipped, not allowed here)"
        else skip=$((skip + 1)); echo "SKIP $1"; fi ;;
    *) fail=$((fail + 1)); failed="$failed $1"; echo "FAIL $1 (status $2)" ;;
    esac
}

for t in "$BUILD"/tests/unit/test_*; do
    case $t in *.o|*.d) continue ;; esac
    [ -x "$t" ] || continue
    name=unit/$(basename "$t")
    [ -z "$only" ] || case $name in *$only*) ;; *) continue ;; esac
    "$t" >"$logdir/$(basename "$t").log" 2>&1
    st=$?
    [ $st -eq 0 ] || sed 's/^/    /' "$logdir/$(basename "$t").log" | tail -n 40
    record "$name" $st
done

# System tests share one test bed.
systests=$(ls "$top"/tests/system/[0-9]*.sh 2>/dev/null)
if [ -n "$only" ]; then
    systests=$(for s in $systests; do case $(basename "$s") in *$only*) echo "$s" ;; esac; done)
fi
if [ -n "$systests" ]; then
    TESTBED_DIR=${TESTBED_DIR:-$BUILD/testbed}
    export TESTBED_DIR
    if sh "$top/scripts/testbed.sh" start >"$logdir/testbed-start.log" 2>&1; then
        for s in $systests; do
            name=system/$(basename "$s" .sh)
            timeout 600 sh "$s" >"$logdir/$(basename "$s" .sh).log" 2>&1
            st=$?
            [ $st -eq 0 ] || sed 's/^/    /' "$logdir/$(basename "$s" .sh).log" | tail -n 40
            record "$name" $st
        done
    else
        sed 's/^/    /' "$logdir/testbed-start.log" | tail -n 40
        record "system/testbed-start" 1
    fi
    sh "$top/scripts/testbed.sh" stop >"$logdir/testbed-stop.log" 2>&1 || record "system/testbed-stop" 1
fi

[ -z "$failed" ] || echo "failed:$failed"
if [ $skip -gt 0 ]; then
    echo "$pass passed, $fail failed, $skip skipped"
else
    echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
