#!/bin/sh
# Benchmark of GET /api/v1/time-sources/{id}/samples (not a test: figures to
# read, but it exits 1 when builds disagree).  A database of SOURCES (20)
# sources with ROUNDS (500) rounds x 4 kinds of samples of one monitor
# (bench/bench_fill.c), ntspoold on it without its monitor, then per build
# of BINS (default bin/ntspoold), on the same database:
#   - every reply of a list of samples queries (sources, kind, monitor,
#     since, limit 1..1000) is kept; with several builds the replies must
#     be identical byte for byte (else exit 1);
#   - N requests (200) per route on one keep-alive connection (curl): the
#     samples of a source at limit=LIMIT (100), next to its scores at the
#     same limit, the source itself and /healthz; per route the mean server
#     time (time_starttransfer - time_pretransfer) and ntspoold's CPU time
#     per request (/proc: what the machine's noise moves less).
#   scripts/bench-samples.sh   (env: SOURCES=20 ROUNDS=500 N=200 LIMIT=100
#                               BINS="OLD NEW" for before/after in one run)
# Loopback only, ports 20000-29999 (BENCH_PORT_MIN/MAX narrow them); about
# half a minute per build.
. "$(dirname "$0")/bench-lib.sh"
SOURCES=${SOURCES:-20}
ROUNDS=${ROUNDS:-500}
N=${N:-200}
LIMIT=${LIMIT:-100}

bench_build
mkdir -p "$tmp/var"
TOKEN=$("$BUILD/tools/bench_fill" -d "$tmp/var/ntspool.db" -n "$SOURCES" -p 4460 -r "$ROUNDS" \
    2>"$tmp/fill.log") || { cat "$tmp/fill.log" >&2; die "cannot fill the database"; }
echo "setup: $SOURCES sources, $ROUNDS rounds x 4 kinds of samples" \
    "($(tail -n 1 "$tmp/fill.log" | cut -d' ' -f2) stored), database" \
    "$(du -m "$tmp/var/ntspool.db" | cut -f1) MB"
new_port
URL=http://127.0.0.1:$PORT
write_conf "$PORT" monitor.builtin=no
printf '127.0.0.1 localhost\n' >"$tmp/hosts"
S=/api/v1/time-sources
since=$(($(date +%s) - 3600))
QUERIES="$S/1/samples $S/2/samples?limit=1 $S/3/samples?limit=1000 $S/$SOURCES/samples?kind=nts-v6
$S/4/samples?kind=pool-v4&limit=500 $S/5/samples?monitor=bench&limit=300
$S/6/samples?monitor=1&kind=pool-v6&since=$since $S/7/samples?since=$since&limit=1000"

# timed NAME PATH: N requests on one connection; appends "NAME server_ms
# cpu_us bytes" to $tmp/res.
timed() {
    urls=""
    for i in $(seq 1 "$N"); do urls="$urls -o /dev/null $URL$2"; done
    c0=$(cpu_ticks "$DPID")
    # shellcheck disable=SC2086 # one argument per URL
    curl -s -H "Authorization: Bearer $TOKEN" \
        -w '%{http_code} %{time_pretransfer} %{time_starttransfer} %{size_download}\n' \
        $urls >"$tmp/t.$1"
    c1=$(cpu_ticks "$DPID")
    python3 - "$tmp/t.$1" "$1" "$((c1 - c0))" "$(getconf CLK_TCK)" >>"$tmp/res" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
bad = [r[0] for r in rows if r[0] != "200"]
if bad:
    sys.exit(f"{sys.argv[2]}: HTTP {bad[0]}")
ms = sum(float(r[2]) - float(r[1]) for r in rows) * 1000 / len(rows)
cpu = int(sys.argv[3]) / int(sys.argv[4]) * 1e6 / len(rows)
print(sys.argv[2], f"{ms:.3f}", f"{cpu:.0f}", rows[-1][3])
PY
}

nb=0
for b in ${BINS:-$top/bin/ntspoold}; do
    nb=$((nb + 1))
    NTSPOOLD_BIN=$b
    start_ntspoold "$tmp/ntspoold.conf" "$tmp/hosts" "$URL"
    mkdir -p "$tmp/out$nb"
    q=0
    for path in $QUERIES; do
        q=$((q + 1))
        code=$(curl -s -o "$tmp/out$nb/$q" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
            "$URL$path")
        [ "$code" = 200 ] || die "GET $path: HTTP $code $(head -c 200 "$tmp/out$nb/$q")"
    done
    : >"$tmp/res"
    timed healthz /healthz
    timed source "$S/1"
    timed scores "$S/1/scores?limit=$LIMIT"
    timed samples "$S/1/samples?limit=$LIMIT"
    echo "ntspoold: $b; $N requests per route on one connection:"
    python3 - "$tmp/res" <<'PY'
import sys
rows = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1])}
for name, (ms, cpu, size) in rows.items():
    x = f"; {float(cpu) / max(1, float(rows['scores'][1])):.1f}x the scores' CPU" if name == "samples" else ""
    print(f"HEADLINE {name:8s} server time {float(ms):7.3f} ms, ntspoold CPU {cpu:>6s} us"
          f" per request, {size} bytes{x}")
PY
    grep -E "ERROR|error" "$tmp/ntspoold.log" | head -n 5 || true
    : >"$tmp/ntspoold.log"
    stop_pid "$DPID"
    if [ $nb -gt 1 ]; then
        if diff -r "$tmp/out1" "$tmp/out$nb" >/dev/null; then
            echo "HEADLINE replies: $(echo "$QUERIES" | wc -w) queries," \
                "$(cat "$tmp/out$nb"/* | wc -c) bytes, identical to the first build's"
        else
            die "the replies of $b differ from the first build's"
        fi
    fi
done
