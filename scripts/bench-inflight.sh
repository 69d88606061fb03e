#!/bin/sh
# Benchmark of the probe engine's memory: N probes in flight at once (default
# 10,000), all stuck in the TLS handshake against a silent loopback listener,
# started through the scheduler (max_in_flight = N, N sources, interval 1 h,
# KE timeout 60 s).  Prints RSS before and with all N in flight and the bytes
# per in-flight probe, and, measured in the same run against the same
# listener, two baselines: a bare connected TCP socket and a bare OpenSSL
# connection of the engine's context waiting for its ServerHello.  Each
# measurement runs in a fresh process (bench/bench_inflight.c).
#   scripts/bench-inflight.sh [-n N] [-p PORT] [-a ADDRS]
# Target (issue "ntspoold", benchmark b): < 32 KiB per in-flight probe.
# The ssl baseline is the floor the engine cannot go under: OpenSSL 3.0 holds
# about 39 KiB per connection waiting for its ServerHello even with
# SSL_MODE_RELEASE_BUFFERS (a 16 KiB handshake buffer it zeroes, 21 KiB
# allocated; the 7.6 KiB SSL struct; an 8 KiB write-buffering BIO; ~3 KiB of
# session, certificate and key-share state).
#
# Needs N + 64 file descriptors in each of two processes (the driver's client
# sockets, the listener's accepted ones): the programs raise RLIMIT_NOFILE's
# soft limit to the hard limit and stop when that is too low.  The listener
# uses 127.0.0.1..127.0.0.ADDRS (default 1) on PORT (default 30123, within
# 30000-39999); spread over more addresses (-a) if ephemeral ports run short.
# Everything started here is stopped by pid; the whole run is bounded
# (about 20 s for N = 10,000; each step times out after 120 s).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
N=10000
PORT=30123
ADDRS=1
while getopts n:p:a: opt; do
    case $opt in
    n) N=$OPTARG ;;
    p) PORT=$OPTARG ;;
    a) ADDRS=$OPTARG ;;
    *) echo "usage: $0 [-n N] [-p PORT] [-a ADDRS]" >&2; exit 2 ;;
    esac
done
if [ "$PORT" -lt 30000 ] || [ "$PORT" -gt 39999 ]; then
    echo "bench-inflight: PORT must be within 30000-39999" >&2
    exit 2
fi
BUILD=${BUILD:-build}
make -s BUILD="$BUILD" "$BUILD/tools/bench_inflight"
DRV=$BUILD/tools/bench_inflight

dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-inflight.XXXXXX")
LPID=""
cleanup() {
    if [ -n "$LPID" ]; then
        kill "$LPID" 2>/dev/null || true
        wait "$LPID" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

"$DRV" listen -p "$PORT" -a "$ADDRS" -r "$dir/ready" 2>"$dir/listen.log" &
LPID=$!
i=0
while [ ! -s "$dir/ready" ]; do
    i=$((i + 1))
    if [ $i -gt 50 ] || ! kill -0 "$LPID" 2>/dev/null; then
        echo "bench-inflight: the listener did not start:" >&2
        cat "$dir/listen.log" >&2
        exit 1
    fi
    sleep 0.1
done

echo "machine: $(nproc) cores, $(uname -sr), $(openssl version | cut -d' ' -f1-2)," \
     "libevent $(pkg-config --modversion libevent), fd limit $(ulimit -Hn)"
rc=0
for mode in tcp ssl probes; do
    # Let the listener see the previous mode's connections close.
    sleep 1
    out=$(timeout 120 "$DRV" "$mode" -n "$N" -p "$PORT" -a "$ADDRS") || rc=1
    echo "$out"
    eval "$(echo "$out" | tr ' ' '\n' | grep -E '^[a-z_]+=[0-9.]+$' | sed 's/^/m_/')"
    # shellcheck disable=SC2154 # set by the eval
    printf '%-7s %6d open  RSS %8d kB -> %8d kB  %7.0f B/conn (%.1f KiB)  heap %7.0f B/conn\n' \
        "$mode" "$m_open" "$m_rss_before_kib" "$m_rss_inflight_kib" \
        "$m_rss_bytes_per_conn" "$(echo "$m_rss_bytes_per_conn / 1024" | bc -l)" \
        "$m_heap_bytes_per_conn"
done
exit $rc
