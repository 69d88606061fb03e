#!/bin/sh
# Instruction counts per probe of ntspoold's built-in monitor under callgrind
# (valgrind), next to bench_ke's per bare key exchange: repeatable figures,
# independent of the machine's load (bench-monitor.sh's CPU times are not).
# SOURCES sources (default 200) over 2 loopback ntstestd, interval INTERVAL
# (20 s); after a warm-up of one interval the counters are zeroed
# (callgrind_control -z), and after WINDOW seconds (60) dumped: instructions
# in the window / probes finished in it (ntspool_probes_total deltas).
# The baseline: bench_ke -n BASE_N (100) under callgrind, counting inside its
# one() only (connect, handshake, request, response, keys, close).
#   scripts/bench-monitor-cg.sh    (env: OUT=DIR keeps the callgrind files
#                                   there for callgrind_annotate; NTSPOOLD_BIN)
# Loopback only, ports in BENCH_PORT_MIN..BENCH_PORT_MAX; about
# INTERVAL + WINDOW + 60 s.  Callgrind counts user-space instructions only:
# the system calls per probe (epoll_ctl, fcntl locks, sockets) cost real
# CPU time here that they do not show; count those with perf stat -e
# syscalls:sys_enter_* -p PID on a running service.
. "$(dirname "$0")/bench-lib.sh"
SOURCES=${SOURCES:-200}
INTERVAL=${INTERVAL:-20}
WINDOW=${WINDOW:-60}
BASE_N=${BASE_N:-100}
OUT=${OUT:-$tmp/cg}
mkdir -p "$OUT"
command -v valgrind >/dev/null 2>&1 || die "valgrind not installed"
NTSPOOLD=${NTSPOOLD_BIN:-$top/bin/ntspoold}

bench_build
make_pki
start_servers 2
first_ke=${ports%%,*}

valgrind -q --tool=callgrind --callgrind-out-file="$OUT/bench_ke.cg" --toggle-collect=one \
    "$BUILD/tools/bench_ke" -c "$CA" -p "$first_ke" -H s0.bench.test -n "$BASE_N" -w 5 \
    >/dev/null || die "baseline failed"
base_ir=$(sed -n 's/^summary: //p' "$OUT/bench_ke.cg")
# -w 5: the warm-up exchanges run inside one() too
base_per=$((base_ir / (BASE_N + 5)))

monitor_sources "$SOURCES" 2
new_port
URL=http://127.0.0.1:$PORT
write_conf "$PORT" "monitor.interval=$INTERVAL" monitor.ke_timeout=10 monitor.ntp_timeout=2 \
    "monitor.ca_file=$CA" monitor.allow_private=yes
cat >"$tmp/vg.sh" <<VG
#!/bin/sh
exec valgrind -q --tool=callgrind --callgrind-out-file="$OUT/ntspoold.cg" "$NTSPOOLD" "\$@"
VG
chmod +x "$tmp/vg.sh"
NTSPOOLD_BIN=$tmp/vg.sh start_ntspoold "$tmp/ntspoold.conf" "$tmp/hosts" "$URL"
sleep "$INTERVAL"
callgrind_control -z "$DPID" >/dev/null || die "callgrind_control -z failed"
curl -s "$URL/metrics" >"$tmp/m0"
t0=$(date +%s.%N)
sleep "$WINDOW"
curl -s "$URL/metrics" >"$tmp/m1"
t1=$(date +%s.%N)
callgrind_control -d window "$DPID" >/dev/null || die "callgrind_control -d failed"
secs=$(python3 -c "print($t1 - $t0)")
python3 "$top/scripts/bench-metrics.py" probes "$tmp/m0" "$tmp/m1" "$secs" >"$tmp/probes.env"
. "$tmp/probes.env"
stop_pid "$DPID"
[ "$probes" -gt 0 ] || die "no probe finished in the window: $(tail -n 5 "$tmp/ntspoold.log")"
win=$(ls "$OUT"/ntspoold.cg* | grep -v '\.cg$' | head -n 1)
ir=$(sed -n 's/^summary: //p' "$win" | head -n 1)
[ -n "$ir" ] || ir=$(sed -n 's/^totals: //p' "$win" | head -n 1)
echo "bench_ke: $base_per instructions per key exchange ($BASE_N + 5)"
echo "ntspoold: $ir instructions over $probes probes (ok fraction $ok_fraction, reasons $reasons)"
python3 -c "print(f'HEADLINE ntspoold instructions per probe: {$ir / $probes:.0f}; ratio to bench_ke {$ir / $probes / $base_per:.2f}x')"
echo "window profile: $win (callgrind_annotate --inclusive=yes)"
