#!/bin/sh
# System test: the short version of scripts/soak.sh (issue 10, item 5; the
# 10-minute run with 10,000 sources is the script itself).  300 sources on
# one loopback ntstestd probed every 10 s by the built-in monitor and two
# ntspool-monitor agents for 40 s while paced wrk drives five API routes;
# fails on any error status or socket error, a 5xx, a crash, an agent that
# lost results, a failed get_work, retention that does not fold, or an RSS
# above twice its warm-up value (a short run cannot show a flat curve: the
# database and its page cache still grow).  Runs the suite's binaries ($BIN,
# $BUILD: the sanitizer build under make sanitize); ports 20000-29999.
. "$(dirname "$0")/lib.sh"
need_tools wrk sqlite3 jq

# bench-lib.sh's start_servers records each server's pid however long it
# takes to start: a stub ntstestd ready after 0.35 s, two of them.  (Its
# counter was once the one start_ntstestd's ready wait counts with, so a
# server slower than a tenth of a second looked up an unset PID_tN.)
mkdir -p "$tmp/stub/tests"
cat >"$tmp/stub/tests/ntstestd" <<'STUB'
#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = --ready-file ] && f=$2; shift; done
sleep 0.35
echo ready >"$f"
exec sleep 60
STUB
chmod +x "$tmp/stub/tests/ntstestd"
got=$(SOAK_BUILD=$tmp/stub BENCH_PORT_MIN=20000 BENCH_PORT_MAX=29999 sh -c \
    '. "$1"; start_servers 2; echo "spids=$spids t1=$PID_t1 t2=$PID_t2"' \
    "$top/scripts/start-servers-check" "$top/scripts/bench-lib.sh" 2>&1)
echo "$got" | awk '{ split($0, a, / t1=| t2=/); n = split(a[1], p, " ");
    exit !(n == 3 && p[2] == a[2] && p[3] == a[3]) }' &&
    ok "start_servers: both pids recorded ($got)" || bad "start_servers: $got"
out=$tmp/soak.out
SOAK_BIN=$BIN SOAK_BUILD=$BUILD SOAK_NO_BUILD=1 SOAK_SECONDS=40 WARMUP=20 SOURCES=300 \
    SERVERS=1 INTERVAL=10 PREFILL=1 RSS_MAX_GROWTH_PCT=100 \
    timeout 240 sh "$(dirname "$0")/../../scripts/soak.sh" >"$out" 2>&1
st=$?
grep -E '^(HEADLINE|FAIL)' "$out"
[ $st -eq 0 ] && ok "soak.sh, 40 s, 300 sources: no error, no crash, nothing lost" ||
    { bad "soak.sh exit status $st"; tail -n 30 "$out"; }
grep -q 'HEADLINE database after retention' "$out" && ok "retention folded the old samples" ||
    bad "no retention figures"
finish
