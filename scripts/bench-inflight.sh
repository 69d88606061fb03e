#!/bin/sh
# Benchmark of the probe engine's memory: N probes in flight at once (default
# 10,000), started through the scheduler (max_in_flight = N, N sources,
# interval 1 h, KE and NTP timeouts 120 s), held in each stage a probe spends
# its time in, each next to a bare baseline measured in the same run:
#   probes/tls      in the TLS handshake: a silent loopback listener accepts
#                   and never answers the ClientHello;
#                   baselines tcp/ (a bare connected socket) and ssl/tls (a
#                   bare OpenSSL connection of the engine's context after its
#                   ClientHello);
#   probes/connect  waiting for the SYN-ACK: a listener that never accepts,
#                   its backlog full, so Linux drops the SYNs (the bare
#                   socket of the tcp/ line is the baseline: kernel memory);
#   probes/ke       TLS done, the request sent, waiting for the NTS-KE
#                   response: ntstestd --misbehave ke-silent; baseline ssl/ke
#                   (a bare OpenSSL connection after a verified handshake);
#   probes/ntp      the key exchange done, waiting for the NTP reply:
#                   ntstestd --misbehave ntp-silent.
# RSS is read before the first probe and once all N are in the stage (going by
# their sockets) and the heap has not changed for 2 s; each measurement runs
# in a fresh process (bench/bench_inflight.c).  -d adds OpenSSL's allocations
# per connection by source line (CRYPTO_set_mem_functions) to each line.
#   scripts/bench-inflight.sh [-n N] [-p PORT] [-a ADDRS] [-d]
# Target (issue "ntspoold", benchmark b): < 32 KiB per in-flight probe.
#
# Measured (2 cores, OpenSSL 3.0.19, libevent 2.1.12, N = 10,000), RSS, heap
# in use and RSS after malloc_trim(0), per probe:
#   tcp/                0.0 KiB                     (socket buffers are kernel memory)
#   ssl/tls            39.3 KiB  heap 41,295 B  39.3  bare OpenSSL, ClientHello sent
#   probes/tls         42.0 KiB  heap 43,846 B  42.0  (was 42.2 KiB, 44,151 B)
#   probes/connect      1.7 KiB  heap  1,647 B   1.7  (was 2.0 KiB, 1,951 B)
#   ssl/ke             19.0 KiB  heap 19,344 B  19.0  bare OpenSSL, handshake done
#   probes/ke       31-36 KiB    heap 21,936 B  22.4  (heap was 22,239 B)
#   probes/ntp      28-34 KiB    heap  6,122 B   7.9  (heap was 10,040 B)
# In the ke and ntp stages RSS is mostly what the handshakes freed: every
# probe went through one (a 21 KiB buffer and an 8 KiB BIO, freed after it)
# and glibc keeps the freed holes between live blocks, so RSS there depends
# on how many handshakes overlapped (it varies from run to run); malloc_trim
# gives those pages back, and the heap figure is what a probe holds.  In a
# service whose probes are spread over the stages the holes are reused by
# the next handshakes.
#
# The target (< 32 KiB) is met in the connect, ke and ntp stages, not in the
# TLS handshake: OpenSSL 3.0 alone holds 39.3 KiB there (bare baseline), 7.3
# KiB over the target before any byte of ours, and nothing in its public API
# shrinks it.  Its allocations per connection waiting for the ServerHello
# (-d, source lines of OpenSSL 3.0):
#   21,848 B  the handshake message buffer (buffer.c:97, BUF_MEM_grow to
#             SSL3_RT_MAX_PLAIN_LENGTH, fixed in statem.c; 16 KiB of it
#             zeroed, so resident; ~1.3 KiB of whole pages never touched)
#    8,192 B  the buffering BIO pushed on the write side for the handshake
#             (bf_buff.c:52/58, its 4 KiB default each way; made inside
#             the handshake, no public way to size it)
#    7,608 B  the SSL object (ssl_lib.c:691)
#      928 B  the session of the ClientHello (ssl_sess.c:145)
#      536 B  the per-connection CERT (ssl_cert.c:86)
#      448 B  8 locks (threads_pthread.c:56)
#      408 B  3 BIOs: socket, buffer, the transcript's memory BIO
#     ~950 B  the transcript (buffer.c:135), the one X25519 key share (ecx_key.c,
#             p_lib.c), the verify parameters (x509_vpm.c), stacks
#   40,913 B  in all (~39.3 KiB resident).
# SSL_MODE_RELEASE_BUFFERS (set) already frees the 16.7 KiB read and write
# record buffers whenever they are empty; SSL_OP_NO_TICKET is set, no status
# request is sent, and one key share (X25519) is the default.
# After the handshake (probes/ke) OpenSSL holds 17,521 B: the SSL object
# 7,608, two AES-GCM record contexts 1,920, the peer's parsed certificate
# (~3.5 KiB in ~90 ASN.1, bignum and name blocks), the session 928, 11 locks
# 616, CERT 536, the transcript digests 576, the rest small.
# Ours and libevent's share: ~2.5 KiB in the handshake (struct probe 360,
# struct ke 496, two timers, bufferevent_openssl ~700 and its two evbuffers,
# the host copies, the request at its length), 1.6 KiB while connecting, and
# in the ntp stage 6.1 KiB: the result (struct probe_result, 2,496; allocated
# when the key exchange ends), struct ntpx 1,416, the keys and two cookies
# 928, struct probe 360, four timers and events.
#
# Needs N + 64 file descriptors in each of two processes (the driver's client
# sockets, the listener's accepted ones) and N + 1,064 in ntstestd (room for
# connections of the previous step it has not seen close yet): the programs
# raise RLIMIT_NOFILE's soft limit and stop when the hard limit is too low.  Ports PORT
# (silent listener), PORT+1 (full backlog), PORT+2/PORT+3 (ntstestd
# ke-silent, KE/NTP) and PORT+4/PORT+5 (ntstestd ntp-silent); PORT defaults
# to 30123, all six within 30000-39999.  The listeners use 127.0.0.1 ..
# 127.0.0.ADDRS (default 1; ntstestd at most 8); spread over more addresses
# (-a) if ephemeral ports run short.  Everything started here is stopped by
# pid; the whole run is bounded (about 2 min for N = 10,000; each step times
# out after 150 s).
set -eu
N=10000
PORT=30123
ADDRS=1
DETAIL=""
while getopts n:p:a:d opt; do
    case $opt in
    n) N=$OPTARG ;;
    p) PORT=$OPTARG ;;
    a) ADDRS=$OPTARG ;;
    d) DETAIL=-d ;;
    *) echo "usage: $0 [-n N] [-p PORT] [-a ADDRS] [-d]" >&2; exit 2 ;;
    esac
done
if [ "$PORT" -lt 30000 ] || [ "$PORT" -gt 39994 ]; then
    echo "bench-inflight: PORT must be within 30000-39994 (it uses PORT..PORT+5)" >&2
    exit 2
fi
SOAK_BUILD=${SOAK_BUILD:-${BUILD:-build}}
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
make -s BUILD="$BUILD" "$BUILD/tools/bench_inflight" "$BUILD/tests/ntstestd" >/dev/null ||
    die "build failed"
DRV=$BUILD/tools/bench_inflight

# wait_file FILE PID WHAT LOG: until FILE is not empty (10 s at most).
wait_file() {
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$2" 2>/dev/null; then
            cat "$4" >&2
            die "$3 did not start"
        fi
        sleep 0.1
    done
}

"$DRV" listen -p "$PORT" -a "$ADDRS" -r "$tmp/silent.ready" 2>"$tmp/silent.log" &
PIDS="$PIDS $!"
wait_file "$tmp/silent.ready" $! "the silent listener" "$tmp/silent.log"
"$DRV" listen -b -p $((PORT + 1)) -a "$ADDRS" -r "$tmp/full.ready" 2>"$tmp/full.log" &
PIDS="$PIDS $!"
wait_file "$tmp/full.ready" $! "the full-backlog listener" "$tmp/full.log"

# wait_drained PORT: until the server side of PORT holds no connection but
# in TIME-WAIT (60 s at most).
wait_drained() {
    i=0
    while [ "$(ss -Htan "( sport = :$1 )" | grep -cv -e LISTEN -e TIME-WAIT)" -gt 0 ]; do
        i=$((i + 1))
        [ $i -le 600 ] || { echo "bench-inflight: port $1 still busy" >&2; return 0; }
        sleep 0.1
    done
}

KADDRS=$((ADDRS > 8 ? 8 : ADDRS))
sans=""
listen=""
for i in $(seq 1 "$KADDRS"); do
    sans="$sans IP:127.0.0.$i"
    listen="$listen --listen 127.0.0.$i"
done
# shellcheck disable=SC2086 # one SAN per word
make_pki $sans
for fault in ke-silent ntp-silent; do
    case $fault in
    ke-silent) kp=$((PORT + 2)) ;;
    *) kp=$((PORT + 4)) ;;
    esac
    # shellcheck disable=SC2086 # one option per word
    "$BUILD/tests/ntstestd" --cert "$tmp/pki/server.crt" --key "$tmp/pki/server.key" \
        $listen --ke-port "$kp" --ntp-port $((kp + 1)) --misbehave "$fault" -v \
        --max-conns $((N + 1000)) --conn-timeout 600 \
        --ready-file "$tmp/$fault.ready" 2>"$tmp/$fault.log" &
    PIDS="$PIDS $!"
    wait_file "$tmp/$fault.ready" $! "ntstestd $fault" "$tmp/$fault.log"
done

echo "machine: $(nproc) cores, $(uname -sr), $(openssl version | cut -d' ' -f1-2)," \
     "libevent $(pkg-config --modversion libevent), fd limit $(ulimit -Hn), N=$N"
rc=0
# mode stage port addresses
for step in "tcp tls $PORT $ADDRS" "ssl tls $PORT $ADDRS" "probes tls $PORT $ADDRS" \
            "probes connect $((PORT + 1)) $ADDRS" "ssl ke $((PORT + 2)) $KADDRS" \
            "probes ke $((PORT + 2)) $KADDRS" "probes ntp $((PORT + 4)) $KADDRS"; do
    # shellcheck disable=SC2086 # the four words of the step
    set -- $step
    # Let the servers see the previous step's connections close: ntstestd
    # refuses connections over --max-conns.
    sleep 1
    wait_drained "$3"
    # shellcheck disable=SC2086 # $DETAIL: one option or none
    out=$(timeout 150 "$DRV" "$1" -S "$2" -n "$N" -p "$3" -a "$4" -c "$CA" -t 120000 \
          -w 100 $DETAIL) || {
        rc=1
        for f in "$tmp"/*-silent.log; do
            # What the servers saw besides the routine (-v), if anything.
            grep -v -e accepted -e 'stay silent' -e 'closed by the client' \
                -e 'unexpected eof' -e listening "$f" | sed -n '1,5p' >&2
        done
    }
    echo "$out"
    eval "$(echo "$out" | head -1 | tr ' ' '\n' | grep -E '^[a-z_]+=[0-9.]+$' | sed 's/^/m_/')"
    # shellcheck disable=SC2154 # set by the eval
    printf '%-15s %6d open  RSS %8d kB -> %8d kB  %7.0f B/conn (%.1f KiB)  heap %7.0f B/conn  trimmed %.1f KiB\n' \
        "$1/$2" "$m_open" "$m_rss_before_kib" "$m_rss_inflight_kib" \
        "$m_rss_bytes_per_conn" "$(echo "$m_rss_bytes_per_conn / 1024" | bc -l)" \
        "$m_heap_bytes_per_conn" "$(echo "$m_rss_trimmed_bytes_per_conn / 1024" | bc -l)"
done
exit $rc
