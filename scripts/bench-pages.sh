#!/bin/sh
# Benchmark of the web pages (not a test: figures to read).  A database with
# one user owning SOURCES (100) time sources and two days of samples (ROUNDS
# = 717 rounds 241 s apart x 4 kinds from one monitor, through
# bench/bench_fill.c: ~290,000 samples), then ntspoold on it without its
# monitor, and per page N requests (default 300) on one keep-alive
# connection with curl, timing each: server time = time_starttransfer -
# time_pretransfer (request sent to first byte back).  Prints mean, p50, p99
# and max per page, /healthz first as the baseline.  Target: pages under
# 10 ms of server time.  "details-cold" asks for each source's page once on
# a server just started (every graph read from the database: the first view
# of a page); "details" asks for one source's page N times and "details-all"
# for the sources' pages in turn (their graph rows from the cache of
# web/histcache.c, checked against the database on each request).
#   scripts/bench-pages.sh      (env: SOURCES=100 ROUNDS=717 N=300; BINS="A B ..."
#                                runs the pages against each of these ntspoold
#                                builds in turn on the same database, for
#                                before/after figures in one run; PERF=FILE)
# Loopback only, ports 20000-29999 (BENCH_PORT_MIN/MAX narrow them); about a
# minute per build.
. "$(dirname "$0")/bench-lib.sh"
SOURCES=${SOURCES:-100}
ROUNDS=${ROUNDS:-717}
N=${N:-300}

bench_build
new_port
URL=http://127.0.0.1:$PORT
mkdir -p "$tmp/var"
t0=$(date +%s)
TOKEN=$("$BUILD/tools/bench_fill" -d "$tmp/var/ntspool.db" -n "$SOURCES" -p 4460 -r "$ROUNDS" \
    2>"$tmp/fill.log") || { cat "$tmp/fill.log"; die "cannot fill the database"; }
echo "setup: $SOURCES sources of one user, $ROUNDS rounds x 4 kinds of samples" \
    "($(tail -n 1 "$tmp/fill.log" | cut -d' ' -f2) stored in $(($(date +%s) - t0)) s)," \
    "database $(du -m "$tmp/var/ntspool.db" | cut -f1) MB"
write_conf "$PORT" monitor.builtin=no monitor.allow_private=yes
printf '127.0.0.1 localhost\n' >"$tmp/hosts"
# start_server BIN: start_ntspoold with BIN
start_server() {
    NTSPOOLD_BIN=$1
    start_ntspoold "$tmp/ntspoold.conf" "$tmp/hosts" "$URL"
}
BINS=${BINS:-$top/bin/ntspoold}
start_server "${BINS%% *}"
# The bench account has no password: set one with its API token (as an
# account made by `ntspoold user-add` does), which also logs in.  The
# session lives in the database: the later builds take the same cookie.
# The form's pre-session CSRF token goes with the cookie it was made for.
JAR=$tmp/jar
PRE=$(curl -s -c "$JAR" "$URL/set-password" |
    sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1)
[ -n "$PRE" ] || die "set-password: no CSRF token in the form"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$JAR" -c "$JAR" "$URL/set-password" \
    --data-urlencode "csrf=$PRE" \
    --data-urlencode email=bench@example.org --data-urlencode "token=$TOKEN" \
    --data-urlencode password=bench-password-1 --data-urlencode password2=bench-password-1)
[ "$code" = 303 ] || die "set-password: HTTP $code"
curl -s -b "$JAR" "$URL/api/v1/time-sources" | python3 -c \
    'import json,sys; print(" ".join(str(s["id"]) for s in json.load(sys.stdin)["time_sources"]))' \
    >"$tmp/ids"
SRC=$(cut -d' ' -f1 "$tmp/ids")
stop_pid "$DPID"

# measure NAME PATH...: N requests on one connection, the paths in turn;
# prints the figures and, for a page, whether its mean meets the target.
measure() {
    name=$1
    shift
    urls=""
    i=0
    while [ "$i" -lt "$N" ]; do
        for path in "$@"; do
            [ "$i" -lt "$N" ] || break
            urls="$urls -o /dev/null $URL$path"
            i=$((i + 1))
        done
    done
    # shellcheck disable=SC2086 # one argument per URL
    curl -s -b "$JAR" -w '%{http_code} %{time_pretransfer} %{time_starttransfer} %{size_download}\n' \
        $urls >"$tmp/t.$name"
    python3 - "$tmp/t.$name" "$name" "$1$([ $# -gt 1 ] && echo " ($# pages)")" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
codes = sorted(set(r[0] for r in rows))
t = sorted((float(r[2]) - float(r[1])) * 1000 for r in rows)
size = int(rows[-1][3])
q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
mean = sum(t) / len(t)
page = sys.argv[3].startswith("/time-sources")
verdict = f"  target < 10 ms {'met' if mean < 10 else 'MISSED'}" if page else ""
print(f"{sys.argv[2]:<12} {sys.argv[3]:<40} mean {mean:6.2f} ms  p50 {q(.5):6.2f}"
      f"  p99 {q(.99):6.2f}  max {t[-1]:6.2f}{verdict}  ({len(t)} req, HTTP {','.join(codes)}, {size} B)")
PY
}
for bin in $BINS; do
    echo "ntspoold: $bin"
    start_server "$bin"
    echo "server time per request (time_starttransfer - time_pretransfer), $N requests each:"
    measure healthz /healthz
    measure list /time-sources
    # shellcheck disable=SC2046 # one path per source
    N=$SOURCES measure details-cold $(sed 's|[0-9][0-9]*|/time-sources/&|g' "$tmp/ids")
    measure details "/time-sources/$SRC"
    # shellcheck disable=SC2046 # one path per source
    measure details-all $(sed 's|[0-9][0-9]*|/time-sources/&|g' "$tmp/ids")
    measure details-p5 "/time-sources/$SRC?page=5"
    measure filtered "/time-sources/$SRC?kind=pool-v4&page=3"
    measure confirm "/time-sources/$SRC/rekey"
    measure api-list /api/v1/time-sources
    if [ -n "${PERF:-}" ]; then # PERF=FILE: a perf profile of the details page
        perf record -q -F 999 --call-graph dwarf -p "$DPID" -o "$PERF" -- sleep 6 2>/dev/null &
        ppid=$!
        sleep 0.5
        N=150 measure details "/time-sources/$SRC" >/dev/null
        wait "$ppid"
    fi
    grep -E "ERROR|error" "$tmp/ntspoold.log" | head -n 5 || true
    : >"$tmp/ntspoold.log"
    stop_pid "$DPID"
done
