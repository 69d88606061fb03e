#!/bin/sh
# Benchmark of ntspoold's built-in monitor (not a test: figures to read).
# 10,000 time sources (distinct (host, port) pairs: names s0..s<N/K-1>.bench.test,
# all 127.0.0.1 in the service's own /etc/hosts (kept to N/K lines: evdns
# searches it linearly), times K ntstestd instances,
# each on its own KE port), nts kinds only (no token; the names have no IPv6
# address, so nts-v6 is "not applicable" and each source is one full probe
# per interval: TLS 1.3 NTS-KE, then two NTS-protected NTP exchanges, then
# stored and scored).  After a warm-up of one interval (the first probes
# spread over it), a window of W seconds gives:
#   - probes per second sustained (ntspool_probes_total deltas), ok fraction;
#   - scheduler lag p50/p99 (ntspool_scheduler_lag_seconds histogram delta,
#     interpolated within buckets);
#   - ntspoold CPU time per probe (/proc/PID/stat utime+stime deltas over the
#     window), and the ntstestd instances' CPU per probe;
# next to the baseline measured in the same run (before the service starts
# and after it stops, against the same ntstestd): bench/bench_ke.c, the CPU
# time of one bare blocking TLS 1.3 handshake with the monitor's own TLS
# context + one NTS-KE request, response parsed, keys exported (no event
# loop, no DNS, no NTP exchange, no database).  Target: ntspoold CPU per
# probe <= 1.2x the baseline's per key exchange.
#   scripts/bench-monitor.sh          (env: SOURCES=10000 SERVERS=8 INTERVAL=30
#                                      WINDOW=60 BASE_N=1000; PERF=FILE records a
#                                      perf profile of ntspoold over the window;
#                                      FAIR_SECS=20 the length of the fair baseline)
# The fair baseline: the same bench_ke, but as 8 paced processes spread over
# all the servers at the rate the service sustained (FAIR_SECS seconds, after
# the service stops), so the servers and the machine carry the same load as
# during the window; CPU time per operation rises under load on a small VM.
# BENCH_PORT_MIN/BENCH_PORT_MAX narrow the port range.
# Loopback only, ports 20000-29999; about INTERVAL + WINDOW + 30 s.
. "$(dirname "$0")/bench-lib.sh"
SOURCES=${SOURCES:-10000}
SERVERS=${SERVERS:-8}
INTERVAL=${INTERVAL:-30}
WINDOW=${WINDOW:-60}
BASE_N=${BASE_N:-1000}
HZ=$(getconf CLK_TCK)

bench_build
make_pki
start_servers "$SERVERS"
first_ke=${ports%%,*}

# baseline KE: sets BASE_CPU_US (client CPU per KE) and BASE_SRV_US (the
# ntstestd's CPU per KE).
baseline() {
    k0=$(cpu_ticks $PID_t1)
    line=$("$BUILD/tools/bench_ke" -c "$CA" -p "$first_ke" -H s0.bench.test -n "$BASE_N") ||
        die "baseline failed"
    k1=$(cpu_ticks $PID_t1)
    BASE_CPU_US=$(echo "$line" | sed 's/.*cpu_per_ke_us=\([0-9.]*\).*/\1/')
    BASE_WALL_US=$(echo "$line" | sed 's/.*wall_per_ke_us=\([0-9.]*\).*/\1/')
    BASE_SRV_US=$(python3 -c "print(f'{($k1 - $k0) / $HZ / $BASE_N * 1e6:.1f}')")
}

echo "machine: $(nproc) cores, $(uname -sr), $(openssl version)"
echo "setup: $SOURCES sources over $SERVERS ntstestd (KE ports $ports), interval $INTERVAL s," \
    "warm-up $INTERVAL s, window $WINDOW s"
baseline
b1=$BASE_CPU_US
b1s=$BASE_SRV_US
echo "baseline before: bench_ke $BASE_N KEs: client CPU $b1 us/KE (wall $BASE_WALL_US us/KE)," \
    "ntstestd CPU $b1s us/KE"

monitor_sources "$SOURCES" "$SERVERS"
new_port
HPORT=$PORT
URL=http://127.0.0.1:$HPORT
write_conf "$HPORT" "monitor.interval=$INTERVAL" monitor.ke_timeout=10 monitor.ntp_timeout=1 \
    "monitor.ca_file=$CA" monitor.allow_private=yes
start_ntspoold "$tmp/ntspoold.conf" "$tmp/hosts" "$URL"
sleep "$INTERVAL"
curl -s "$URL/metrics" >"$tmp/m0"
c0=$(cpu_ticks "$DPID")
s0=$(cpu_ticks $spids)
t0=$(date +%s.%N)
if [ -n "${PERF:-}" ]; then
    # Diagnosis only (profiling costs CPU of its own: the ratio is then off).
    perf record -q -F ${PERF_FREQ:-499} ${PERF_CALLGRAPH:--g} -p "$DPID" -o "$PERF" -- sleep "$WINDOW" 2>/dev/null ||
        sleep "$WINDOW"
else
    sleep "$WINDOW"
fi
curl -s "$URL/metrics" >"$tmp/m1"
c1=$(cpu_ticks "$DPID")
s1=$(cpu_ticks $spids)
t1=$(date +%s.%N)
secs=$(python3 -c "print($t1 - $t0)")
python3 "$top/scripts/bench-metrics.py" probes "$tmp/m0" "$tmp/m1" "$secs" >"$tmp/probes.env"
. "$tmp/probes.env"
stop_pid "$DPID"
[ "$probes" -gt 0 ] || die "no probe finished in the window: $(tail -n 5 "$tmp/ntspoold.log")"

baseline
b2=$BASE_CPU_US
b2s=$BASE_SRV_US
echo "baseline after:  bench_ke $BASE_N KEs: client CPU $b2 us/KE (wall $BASE_WALL_US us/KE)," \
    "ntstestd CPU $b2s us/KE"

FAIR_SECS=${FAIR_SECS:-20}
fair_n=$(python3 -c "print(max(200, int($probes_per_s * $FAIR_SECS)))")
k0=$(cpu_ticks $spids)
line=$("$BUILD/tools/bench_ke" -c "$CA" -p "$ports" -H s0.bench.test -n "$fair_n" -w 80 -j 8 \
    -r "$probes_per_s") || die "fair baseline failed"
k1=$(cpu_ticks $spids)
bf=$(echo "$line" | sed 's/.*cpu_per_ke_us=\([0-9.]*\).*/\1/')
bfs=$(python3 -c "print(f'{($k1 - $k0) / $HZ / ($fair_n + 80) * 1e6:.1f}')")
echo "baseline fair:   bench_ke $fair_n KEs, 8 processes over the $SERVERS servers at" \
    "$probes_per_s/s: client CPU $bf us/KE, ntstestd CPU $bfs us/KE (warm-up included)"

python3 - "$c0" "$c1" "$s0" "$s1" "$HZ" "$probes" "$b1" "$b2" "$b1s" "$b2s" "$secs" "$bf" <<'PY'
import sys
c0, c1, s0, s1, hz, n, b1, b2, b1s, b2s, secs, bf = map(float, sys.argv[1:])
mon = (c1 - c0) / hz / n * 1e6
srv = (s1 - s0) / hz / n * 1e6
base = (b1 + b2) / 2
bases = (b1s + b2s) / 2
print(f"ntspoold CPU: {(c1 - c0) / hz:.2f} s over {secs:.1f} s "
      f"({100 * (c1 - c0) / hz / secs:.0f}% of one core)")
print(f"HEADLINE ntspoold CPU per probe: {mon:.0f} us; baseline (bare TLS 1.3 handshake + "
      f"one NTS-KE request, mean of before/after): {base:.0f} us; ratio {mon / base:.2f}x "
      f"(target <= 1.2x)")
print(f"HEADLINE fair baseline (same rate, same servers, 8 processes): {bf:.0f} us; "
      f"ratio {mon / bf:.2f}x")
print(f"ntstestd CPU per probe (KE + 2 NTP, all {int(n)} probes over the servers): {srv:.0f} us; "
      f"per bare KE: {bases:.0f} us; ratio {srv / bases:.2f}x")
PY
echo "HEADLINE probes/s sustained: $probes_per_s ($probes probes in ${secs%.*} s; ok fraction" \
    "$ok_fraction; reasons $reasons); target rate $(python3 -c "print(f'{$SOURCES / $INTERVAL:.1f}')")/s"
echo "HEADLINE scheduler lag: p50 $lag_p50_ms ms, p99 $lag_p99_ms ms"
echo "samples stored/s: $stored_per_s (dropped $dropped)"
grep -E "ERROR|error" "$tmp/ntspoold.log" | head -n 5 || true
