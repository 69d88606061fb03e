#!/bin/sh
# Benchmark of ntspoold's HTTP side (not a test: figures to read).  A database
# of 10,000 time sources and ~2M samples (bench/bench_fill.c through
# db_store_samples: 50 rounds x 4 kinds of one monitor), then ntspoold on it
# with its built-in monitor probing every source at INTERVAL s: the first
# LIVE sources (s<i>.bench.test) point at one loopback ntstestd (full probes),
# the others (d<j>.bench.test x NDEAD closed loopback ports) are refused
# (connect_refused); every name is 127.0.0.1 in the service's own /etc/hosts,
# which stays short (evdns searches it linearly).  The interval defaults to
# 60 s: 10,000 sources / 60 s = 166 probes/s, the per-monitor rate of
# PRODUCT.md "Scale"; INTERVAL=10 is a harsher 1,000 probes/s.  wrk (-t2 -c32 -dDUR --latency) against, in turn:
#   GET /healthz                                the baseline (no database)
#   GET /api/v1/time-sources/{id}               bearer token, random id
#   GET /scores/{host}:{port}/json?limit=50     random source
# [http] rate_limit = 0.  Prints requests/s and p99 latency per route and each
# JSON route's rate as a fraction of /healthz's in the same run, and what the
# monitor did meanwhile.  Then each JSON route again at a fixed rate of about
# 5,000 req/s (wrk -t1 -cPACE_CONN, each connection waiting PACE_DELAY_MS
# between requests; the rate reached is printed): the latency a client sees
# at the target's rate, where the runs above measure it at saturation (a
# closed loop of CONN connections: there p50 is about CONN / rate).
# Targets: JSON routes >= 5,000 req/s with p99 < 10 ms at that rate on this
# machine, and >= 1/3 of /healthz's rate.
#   scripts/bench-api.sh     (env: SOURCES=10000 ROUNDS=50 LIVE=100 INTERVAL=60 NDEAD=50
#                             DUR=15 CONN=32 THREADS=2 MONITOR=yes
#                             PACE_CONN=40 PACE_DELAY_MS=6 (PACE_CONN=0: no
#                             paced runs); PERF=FILE
#                             records a perf profile of ntspoold during the
#                             JSON routes; MONITOR=no runs without the
#                             built-in monitor, to tell its cost apart;
#                             BINS="A B ..." runs the routes against each of
#                             these ntspoold builds in turn on the same
#                             database (one fill), for before/after figures
#                             in one run: a build with a newer schema
#                             migrates the database, so list older ones first,
#                             and fill with the oldest's FILL=.../bench_fill)
# Loopback only, ports 20000-29999; about 2-3 minutes (most of it the fill).
. "$(dirname "$0")/bench-lib.sh"
SOURCES=${SOURCES:-10000}
ROUNDS=${ROUNDS:-50}
LIVE=${LIVE:-100}
INTERVAL=${INTERVAL:-60}
NDEAD=${NDEAD:-50}
DUR=${DUR:-15}
CONN=${CONN:-32}
THREADS=${THREADS:-2}
MONITOR=${MONITOR:-yes}
PACE_CONN=${PACE_CONN:-40}
PACE_DELAY_MS=${PACE_DELAY_MS:-6}
command -v wrk >/dev/null 2>&1 || die "wrk not installed"

bench_build
make_pki
start_ntstestd t1
DEAD=""
for i in $(seq 1 "$NDEAD"); do
    new_port
    DEAD="$DEAD${DEAD:+,}$PORT" # nothing listens there: connect_refused
done
echo "machine: $(nproc) cores, $(uname -sr), SQLite $(pkg-config --modversion sqlite3), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
echo "setup: $SOURCES sources, $ROUNDS rounds x 4 kinds of samples; monitor interval $INTERVAL s," \
    "$LIVE sources at ntstestd :$KE_PORT, the others at $NDEAD closed ports"
mkdir -p "$tmp/var"
TOKEN=$("${FILL:-$BUILD/tools/bench_fill}" -d "$tmp/var/ntspool.db" -n "$SOURCES" -p "$KE_PORT" \
    -L "$LIVE" -D "$DEAD" -r "$ROUNDS") || die "cannot fill the database"
echo "database: $(du -m "$tmp/var/ntspool.db" | cut -f1) MB"
python3 - "$SOURCES" "$LIVE" "$NDEAD" >"$tmp/hosts" <<'PY'
import sys
n, live, nd = map(int, sys.argv[1:])
print("127.0.0.1 localhost")
for i in range(min(live, n)):
    print(f"127.0.0.1 s{i}.bench.test")
for j in range((n - live + nd - 1) // nd if n > live else 0):
    print(f"127.0.0.1 d{j}.bench.test")
PY
new_port
HPORT=$PORT
URL=http://127.0.0.1:$HPORT
write_conf "$HPORT" "monitor.builtin=$MONITOR" "monitor.interval=$INTERVAL" monitor.ke_timeout=2 \
    monitor.ntp_timeout=0.5 "monitor.ca_file=$CA" monitor.allow_private=yes
# Lua scripts: a random source per request.
cat >"$tmp/source.lua" <<EOF
math.randomseed(os.time())
wrk.headers["Authorization"] = "Bearer $TOKEN"
request = function()
  return wrk.format("GET", "/api/v1/time-sources/" .. math.random(1, $SOURCES))
end
EOF
cat >"$tmp/compat.lua" <<EOF
math.randomseed(os.time() + 1)
local dead = {$DEAD}
request = function()
  local i = math.random(0, $SOURCES - 1)
  local host
  if i < $LIVE then
    host = "s" .. i .. ".bench.test:$KE_PORT"
  else
    local j = i - $LIVE
    host = "d" .. math.floor(j / $NDEAD) .. ".bench.test:" .. dead[j % $NDEAD + 1]
  end
  return wrk.format("GET", "/scores/" .. host .. "/json?limit=50")
end
EOF
for f in source compat; do
    { cat "$tmp/$f.lua"; echo "delay = function() return $PACE_DELAY_MS end"; } >"$tmp/$f-paced.lua"
done

# run_wrk NAME PATH [SCRIPT [THREADS CONN]]: prints "NAME req/s p50_ms
# p99_ms non2xx [socket errors]"
run_wrk() {
    set -- "$1" "$2" "${3:-}" "${4:-$THREADS}" "${5:-$CONN}"
    if [ -n "$3" ]; then
        wrk -t"$4" -c"$5" -d"${DUR}s" --latency -s "$3" "$URL$2" >"$tmp/wrk.$1" 2>&1
    else
        wrk -t"$4" -c"$5" -d"${DUR}s" --latency "$URL$2" >"$tmp/wrk.$1" 2>&1
    fi
    python3 - "$tmp/wrk.$1" "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v, u):
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u]
rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", t).group(1))
m = re.search(r"99%\s+([0-9.]+)(us|ms|s)", t)
p99 = ms(*m.groups())
m = re.search(r"50%\s+([0-9.]+)(us|ms|s)", t)
p50 = ms(*m.groups())
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
err = re.search(r"Socket errors: (.*)", t)
print(sys.argv[2], f"{rps:.0f}", f"{p50:.2f}", f"{p99:.2f}",
      (bad.group(1) if bad else "0"), ("socket errors: " + err.group(1) if err else "").replace(" ", "_"))
PY
}

# run_route NAME PATH [SCRIPT]: run_wrk, then the CPU time ntspoold spent per
# request (us) on a line "cpu NAME US": on a shared machine the requests/s
# follow the CPU share the service gets, its CPU per request does not.
run_route() {
    rc0=$(cpu_ticks "$DPID")
    run_wrk "$@" >"$tmp/route.out"
    rc1=$(cpu_ticks "$DPID")
    cat "$tmp/route.out"
    python3 -c "import sys; n = float(sys.argv[2]) * $DUR; print('cpu', sys.argv[1], f'{($rc1 - $rc0) / $(getconf CLK_TCK) / n * 1e6:.0f}' if n else 0)" \
        "$1" "$(cut -d' ' -f2 "$tmp/route.out")" >>"$tmp/cpu"
}

# run_server BIN: start BIN on the database, check the routes, measure, stop.
run_server() {
    NTSPOOLD_BIN=$1
    start_ntspoold "$tmp/ntspoold.conf" "$tmp/hosts" "$URL"
    # Source ids are 1..SOURCES in a fresh database; check one, and the routes.
    for path in /healthz /api/v1/time-sources/1 "/scores/s0.bench.test:$KE_PORT/json?limit=50"; do
        code=$(curl -s -o "$tmp/check.out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL$path")
        [ "$code" = 200 ] || die "GET $path: HTTP $code $(head -c 200 "$tmp/check.out")"
    done
    n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["history"]))' "$tmp/check.out")
    want=$((4 * ROUNDS < 50 ? 4 * ROUNDS : 50))
    [ "$n" = "$want" ] || die "/scores/.../json?limit=50 gave $n history entries, want $want"
    sleep 3 # the monitor's first round is under way

    curl -s "$URL/metrics" >"$tmp/m0"
    c0=$(cpu_ticks "$DPID")
    t0=$(date +%s.%N)
    : >"$tmp/cpu"
    run_route healthz /healthz >"$tmp/res"
    if [ -n "${PERF:-}" ]; then
        perf record -q -F 999 -g -p "$DPID" -o "$PERF" -- sleep $((2 * DUR + 1)) 2>/dev/null &
        PIDS="$PIDS $!"
    fi
    run_route source /api/v1/time-sources/1 "$tmp/source.lua" >>"$tmp/res"
    run_route compat "/scores/s0.bench.test:$KE_PORT/json?limit=50" "$tmp/compat.lua" >>"$tmp/res"
    : >"$tmp/paced"
    if [ "$PACE_CONN" -gt 0 ]; then
        run_wrk source /api/v1/time-sources/1 "$tmp/source-paced.lua" 1 "$PACE_CONN" >>"$tmp/paced"
        run_wrk compat "/scores/s0.bench.test:$KE_PORT/json?limit=50" "$tmp/compat-paced.lua" \
            1 "$PACE_CONN" >>"$tmp/paced"
    fi
    t1=$(date +%s.%N)
    c1=$(cpu_ticks "$DPID")
    curl -s "$URL/metrics" >"$tmp/m1"
    secs=$(python3 -c "print($t1 - $t0)")
    python3 "$top/scripts/bench-metrics.py" probes "$tmp/m0" "$tmp/m1" "$secs" >"$tmp/probes.env"
    . "$tmp/probes.env"
    python3 - "$tmp/res" "$DUR" "$THREADS" "$CONN" "$tmp/cpu" "$tmp/paced" "$PACE_CONN" \
        "$PACE_DELAY_MS" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
cpu = {l.split()[1]: l.split()[2] for l in open(sys.argv[5])}
paced = {l.split()[0]: l.split() for l in open(sys.argv[6])}
base = float(rows[0][1])
names = {"healthz": "GET /healthz (baseline)",
         "source": "GET /api/v1/time-sources/{id}",
         "compat": "GET /scores/{host}/json?limit=50"}
print(f"wrk -t{sys.argv[3]} -c{sys.argv[4]} -d{sys.argv[2]}s --latency, one route after the other"
      f" (saturated); then paced, wrk -t1 -c{sys.argv[7]}, {sys.argv[8]} ms between requests"
      " per connection:")
for r in rows:
    name, rps, p50, p99, non2xx = r[0], float(r[1]), r[2], r[3], r[4]
    extra = " " + r[5].replace("_", " ") if len(r) > 5 else ""
    verdict = ""
    if name != "healthz":
        verdict = f"; {rps / base:.2f}x /healthz"
    print(f"HEADLINE {names[name]:36s} {rps:8.0f} req/s  p50 {p50} ms  p99 {p99} ms"
          f"  non-2xx {non2xx}{extra}{verdict}; ntspoold CPU {cpu.get(name, '?')} us/request")
    if name in paced:
        q = paced[name]
        prps, pp50, pp99, pnon = float(q[1]), q[2], q[3], q[4]
        pextra = " " + q[5].replace("_", " ") if len(q) > 5 else ""
        ok = rps >= 5000 and rps >= base / 3 and prps >= 4900 and float(pp99) < 10
        print(f"HEADLINE {'  paced':36s} {prps:8.0f} req/s  p50 {pp50} ms  p99 {pp99} ms"
              f"  non-2xx {pnon}{pextra}; targets {'met' if ok else 'MISSED'}")
PY
    echo "meanwhile the monitor: $probes_per_s probes/s (ok fraction $ok_fraction), $stored_per_s" \
        "samples stored/s, lag p50 $lag_p50_ms ms p99 $lag_p99_ms ms;" \
        "$batches database batches, p50 $batch_p50_ms ms p99 $batch_p99_ms ms;" \
        "ntspoold CPU $(python3 -c "print(f'{($c1 - $c0) / $(getconf CLK_TCK) / $secs * 100:.0f}')")% of one core"
    # The score history cache (web/histcache.c; builds before it have no counter).
    python3 - "$tmp/m0" "$tmp/m1" <<'PY'
import re, sys
def hm(path):
    t = open(path).read()
    return [int(m.group(1)) if (m := re.search(r'ntspool_history_cache_total\{result="%s"\} (\d+)' % k, t)) else None
            for k in ("hit", "miss")]
(h0, m0), (h1, m1) = hm(sys.argv[1]), hm(sys.argv[2])
if h1 is not None:
    h, m = h1 - h0, m1 - m0
    print(f"history cache during the routes: {h} hits, {m} misses ({h / max(1, h + m):.0%} hits)")
PY
    grep -E "ERROR|error" "$tmp/ntspoold.log" | head -n 5 || true
    # The next build's log starts empty.
    : >"$tmp/ntspoold.log"
    stop_pid "$DPID"
}

for b in ${BINS:-$top/bin/ntspoold}; do
    echo "ntspoold: $b"
    run_server "$b"
done
