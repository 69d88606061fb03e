#!/bin/sh
# Benchmark of GET /monitoring/get_work with many sources (not a test: figures
# to read).  A database of SOURCES time sources (default 10,000), each with a
# token (bench_fill -k), so a loopback agent's work list holds all four kinds
# of each: ~40,000 items, ~6 MB of JSON.  ntspoold without its built-in
# monitor, then for each build of BINS (default bin/ntspoold) on the same
# database:
#   - N sequential fetches of get_work (curl), next to N of /healthz in the
#     same run: time per fetch and the ratio;
#   - the loop's stall: wrk on /healthz (-t1 -c4, DUR s) alone, then again
#     while AGENTS clients fetch get_work back to back: /healthz p50/p99 and
#     requests/s both ways (a stall of the event loop shows in /healthz's p99).
#   scripts/bench-getwork.sh   (env: SOURCES=10000 N=20 AGENTS=4 DUR=10
#                               BINS="OLD NEW" for before/after in one run)
# Loopback only, ports 20000-29999 (BENCH_PORT_MIN/MAX narrow them); about
# 1 minute per build.
. "$(dirname "$0")/bench-lib.sh"
SOURCES=${SOURCES:-10000}
N=${N:-20}
AGENTS=${AGENTS:-4}
DUR=${DUR:-10}
for tool in wrk jq; do command -v $tool >/dev/null 2>&1 || die "$tool not installed"; done
bench_build
mkdir -p "$tmp/var"
"$BUILD/tools/bench_fill" -d "$tmp/var/ntspool.db" -n "$SOURCES" -p 1 -k >/dev/null ||
    die "cannot fill the database"
printf '127.0.0.1 localhost\n' >"$tmp/hosts"
new_port
URL=http://127.0.0.1:$PORT
write_conf "$PORT" monitor.builtin=no
echo "machine: $(nproc) cores, $(uname -sr); $SOURCES sources with tokens"

# fetch_times PATH KEY: N sequential fetches; prints "median_ms max_ms bytes"
fetch_times() {
    for i in $(seq 1 "$N"); do
        curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}\n' \
            ${2:+-H "Authorization: Bearer $2"} --max-time 60 "$URL$1"
    done | python3 -c '
import sys
rows = [l.split() for l in sys.stdin]
bad = [r for r in rows if r[0] != "200"]
if bad:
    sys.exit("HTTP " + bad[0][0])
t = sorted(float(r[1]) * 1000 for r in rows)
print(f"{t[len(t) // 2]:.2f} {t[-1]:.2f} {rows[-1][2]}")'
}

# wrk_healthz: prints "req/s p50_ms p99_ms"
wrk_healthz() {
    wrk -t1 -c4 -d"${DUR}s" --latency "$URL/healthz" >"$tmp/wrk.out" 2>&1
    python3 - "$tmp/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
ms = lambda v, u: float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u]
rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", t).group(1))
p = [ms(*re.search(q + r"%\s+([0-9.]+)(us|ms|s)", t).groups()) for q in ("50", "99")]
print(f"{rps:.0f} {p[0]:.2f} {p[1]:.2f}")
PY
}

first=1
for b in ${BINS:-$top/bin/ntspoold}; do
    if [ $first = 1 ]; then
        KEY=$("$b" -c "$tmp/ntspoold.conf" monitor-add bench-getwork 2>/dev/null) || die "monitor-add"
        first=0
    fi
    NTSPOOLD_BIN=$b
    start_ntspoold "$tmp/ntspoold.conf" "$tmp/hosts" "$URL"
    bs=$(curl -s --max-time 60 -H "Authorization: Bearer $KEY" "$URL/monitoring/get_work" |
        jq '[(.timesources | length), .result_batchsize] | @csv' -r) || die "get_work failed"
    set -- $(fetch_times /monitoring/get_work "$KEY") || die "get_work failed"
    gw_med=$1 gw_max=$2 gw_bytes=$3
    set -- $(fetch_times /healthz "") || die "/healthz failed"
    hz_med=$1
    set -- $(wrk_healthz)
    alone="$1 req/s, p50 $2 ms, p99 $3 ms"
    LOOPS=""
    for i in $(seq 1 "$AGENTS"); do
        ( end=$(($(date +%s) + DUR + 2))
          while [ "$(date +%s)" -lt "$end" ]; do
              curl -s -o /dev/null --max-time 60 -H "Authorization: Bearer $KEY" \
                  "$URL/monitoring/get_work" -w '%{http_code}\n' >>"$tmp/loop.$i"
          done ) &
        LOOPS="$LOOPS $!"
        PIDS="$PIDS $!"
    done
    sleep 1
    set -- $(wrk_healthz)
    for p in $LOOPS; do wait "$p"; done
    fetched=$(cat "$tmp"/loop.* | grep -c '^200$')
    notok=$(cat "$tmp"/loop.* | grep -vc '^200$' || true)
    rm -f "$tmp"/loop.*
    echo "ntspoold: $b"
    echo "HEADLINE get_work: median $gw_med ms (max $gw_max ms), $gw_bytes bytes;" \
        "/healthz median $hz_med ms; ratio $(python3 -c "print(f'{$gw_med / $hz_med:.0f}')")x;" \
        "items,result_batchsize: $bs"
    echo "HEADLINE /healthz alone: $alone; with $AGENTS clients fetching get_work back to back" \
        "($fetched fetches, $notok not 200): $1 req/s, p50 $2 ms, p99 $3 ms"
    stop_pid "$DPID"
done
