# Shared helpers of the benchmarks scripts/bench-*.sh and scripts/soak.sh
# (sourced, not run).  Loopback only, ports 20000-39999 only (never the test
# bed's); every process started is recorded and stopped by its pid on exit;
# the temporary directory is removed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${SOAK_BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ntspool-bench.XXXXXX")
PIDS=""
USED_PORTS=""

bench_cleanup() {
    for p in $PIDS; do
        kill "$p" 2>/dev/null || true
    done
    for p in $PIDS; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM HUP

die() { echo "bench: $*" >&2; exit 1; }

for tool in openssl python3 curl unshare; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not installed"
done

bench_build() {
    # tests/system/085-soak-short.sh has built them, maybe with sanitizers
    [ -n "${SOAK_NO_BUILD:-}" ] && return 0
    make -s -j2 all test-progs bench-progs >/dev/null || die "build failed"
}

# pick_port: a free TCP and UDP port on 127.0.0.1 in BENCH_PORT_MIN..
# BENCH_PORT_MAX (default 20000-29999; both clamped to 20000-39999, the
# benchmarks' range, so that several people can share the machine with
# disjoint sub-ranges), never one of the test bed's (11123-11131,
# 14460-14499 and test_sched's 15000-15999 are outside the range anyway)
# nor one picked before in this run.
BENCH_PORT_MIN=${BENCH_PORT_MIN:-20000}
BENCH_PORT_MAX=${BENCH_PORT_MAX:-29999}
pick_port() {
    python3 - "$USED_PORTS" "$BENCH_PORT_MIN" "$BENCH_PORT_MAX" <<'PY'
import random, socket, sys
used = set(int(x) for x in sys.argv[1].split())
lo = max(20000, int(sys.argv[2]))
hi = min(39999, int(sys.argv[3]))
if lo > hi:
    sys.exit(1)
for _ in range(500):
    p = random.randint(lo, hi)
    if p in used:
        continue
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", p))
            s.close()
    except OSError:
        continue
    print(p)
    sys.exit(0)
sys.exit(1)
PY
}
new_port() { # sets PORT
    PORT=$(pick_port) || die "no free port in $BENCH_PORT_MIN-$BENCH_PORT_MAX"
    USED_PORTS="$USED_PORTS $PORT"
}

# write_conf PORT [SECTION.KEY=VALUE]...: $tmp/ntspoold.conf, an ntspoold on
# 127.0.0.1:PORT without rate limit, its database $tmp/var/ntspool.db and
# secret file $tmp/var/secret, no clock check, logging warnings; each
# argument adds KEY = VALUE to SECTION (http, store, monitor or log), e.g.
# monitor.builtin=no store.retention_days=1 (a key comes once: not one of
# those above).
write_conf() {
    wc_port=$1
    shift
    for wc_arg in "$@"; do
        case $wc_arg in
        http.?*=* | store.?*=* | monitor.?*=* | log.?*=*) ;;
        *) die "write_conf: not SECTION.KEY=VALUE: $wc_arg" ;;
        esac
    done
    {
        printf '[http]\nlisten = 127.0.0.1:%s\nrate_limit = 0\n' "$wc_port"
        conf_keys http "$@"
        printf '[store]\ndatabase = %s\nsecret_file = %s\n' "$tmp/var/ntspool.db" "$tmp/var/secret"
        conf_keys store "$@"
        printf '[monitor]\nclock_check = no\n'
        conf_keys monitor "$@"
        printf '[log]\nlevel = warn\n'
        conf_keys log "$@"
    } >"$tmp/ntspoold.conf"
}
# conf_keys SECTION ARG...: the "KEY = VALUE" lines of the SECTION.KEY=VALUE
# arguments.
conf_keys() {
    ck_sec=$1
    shift
    for ck_arg in "$@"; do
        case $ck_arg in
        "$ck_sec".?*=*)
            ck_arg=${ck_arg#"$ck_sec".}
            printf '%s = %s\n' "${ck_arg%%=*}" "${ck_arg#*=}" ;;
        esac
    done
}

# make_pki [SAN...]: $tmp/pki/{ca.crt,server.crt,server.key}; the leaf is
# valid for localhost and *.bench.test (every source name of the benchmarks)
# and any further subjectAltName entries given (e.g. IP:127.0.0.1).
make_pki() {
    extra=""
    for san in "$@"; do
        extra="$extra,$san"
    done
    d=$tmp/pki
    mkdir -p "$d"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$d/ca.key" -out "$d/ca.crt" -days 2 -subj "/CN=ntspool bench CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -addext subjectKeyIdentifier=hash 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/server.key" 2>/dev/null
    openssl req -new -key "$d/server.key" -out "$d/server.csr" -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
        'extendedKeyUsage=serverAuth' "subjectAltName=DNS:localhost,DNS:*.bench.test$extra" >"$d/leaf.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/server.crt" -days 2 -extfile "$d/leaf.ext" 2>/dev/null
    openssl verify -CAfile "$d/ca.crt" "$d/server.crt" >/dev/null || die "test PKI does not verify"
    CA=$d/ca.crt
}

# start_servers N: N ntstestd (t1..tN, start_ntstestd); their KE ports
# comma-separated in $ports, their pids in $spids.  (Its counter is not i:
# start_ntstestd's ready wait counts with that one.)
start_servers() {
    ports=""
    spids=""
    for srv in $(seq 1 "$1"); do
        start_ntstestd "t$srv"
        ports="$ports${ports:+,}$KE_PORT"
        eval "spids=\"\$spids \$PID_t$srv\""
    done
}

# monitor_sources N K: $tmp/hosts naming s0..s<N/K-1>.bench.test as
# 127.0.0.1 (kept that short: evdns searches it linearly), and a database
# $tmp/var/ntspool.db of N sources, those names times the K servers' KE
# ports in $ports (start_servers K).
monitor_sources() {
    python3 - "$((($1 + $2 - 1) / $2))" >"$tmp/hosts" <<'PY'
import sys
print("127.0.0.1 localhost")
for i in range(int(sys.argv[1])):
    print(f"127.0.0.1 s{i}.bench.test")
PY
    mkdir -p "$tmp/var"
    "$BUILD/tools/bench_fill" -d "$tmp/var/ntspool.db" -n "$1" -p "$ports" >/dev/null ||
        die "cannot fill the database"
}

# start_ntstestd NAME: one ntstestd on 127.0.0.1, KE and NTP on new ports;
# sets KE_PORT and the pid in PID_<NAME>.
start_ntstestd() {
    new_port
    KE_PORT=$PORT
    new_port
    ntp=$PORT
    "$BUILD/tests/ntstestd" --cert "$tmp/pki/server.crt" --key "$tmp/pki/server.key" \
        --listen 127.0.0.1 --ke-port "$KE_PORT" --ntp-port "$ntp" \
        --ready-file "$tmp/$1.ready" 2>"$tmp/$1.log" &
    eval "PID_$1=$!"
    PIDS="$PIDS $!"
    # Not $i: start_servers counts its servers in it.
    _tries=0
    while [ ! -s "$tmp/$1.ready" ]; do
        _tries=$((_tries + 1))
        [ $_tries -le 100 ] || { cat "$tmp/$1.log" >&2; die "ntstestd $1 did not start"; }
        sleep 0.1
    done
}

# start_ntspoold CONF HOSTS URL: the service in a user+mount namespace of its
# own with HOSTS bind-mounted over /etc/hosts (same network); unshare execs,
# so $! is ntspoold ($NTSPOOLD_BIN, default bin/ntspoold).  Sets DPID; waits
# for /healthz (up to 120 s: a newer build may migrate the database first).
start_ntspoold() {
    unshare --user --map-root-user --mount sh -c \
        'mount --bind "$1" /etc/hosts && exec "$2" -c "$3"' sh "$2" "${NTSPOOLD_BIN:-$top/bin/ntspoold}" "$1" \
        2>"$tmp/ntspoold.log" &
    DPID=$!
    PIDS="$PIDS $DPID"
    i=0
    until curl -s -o /dev/null "$3/healthz" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 1200 ] || ! kill -0 "$DPID" 2>/dev/null; then
            tail -n 20 "$tmp/ntspoold.log" >&2
            die "ntspoold did not start"
        fi
        sleep 0.1
    done
}

# stop_pid PID: SIGTERM, wait, and forget it.
stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# cpu_ticks PID...: utime+stime of the processes, in clock ticks (summed).
cpu_ticks() {
    t=0
    for p in "$@"; do
        set -- $(sed 's/^.*) //' "/proc/$p/stat")
        t=$((t + ${12} + ${13}))
    done
    echo $t
}
