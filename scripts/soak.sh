#!/bin/sh
# Load and soak of ntspoold (issue 10, item 5; not a test: figures to read,
# but it exits 1 when something is wrong).  SOURCES time sources (default
# 10,000: s<i>.bench.test x SERVERS loopback ntstestd, every name 127.0.0.1
# in the service's own /etc/hosts, so the nts kinds are probed, nts-v6 is
# "not applicable") probed by the built-in monitor every INTERVAL s for
# SOAK_SECONDS (default 600) while
#   - wrk drives the API, one paced wrk per route (-t1 -cCONN, each
#     connection waits DELAY_MS between requests): /healthz, /,
#     /api/v1/time-sources/{id}, /api/v1/time-sources/{id}/samples?limit=20,
#     /scores/{host}/json?limit=50 (random source, bearer token where needed);
#   - two ntspool-monitor agents (own monitor keys) fetch the work list (all
#     sources) and probe and submit at the same interval;
#   - every 10 s: the RSS of ntspoold and the agents, the probes done; every
#     30 s one GET /monitoring/get_work (its time and size).
# The database starts with the sources and PREFILL rounds x 4 kinds of
# samples dated AGE s ago (default 2 days: kept by the default 15-day
# retention, folded by a 1-day one).  It prints:
#   - error statuses: wrk's non-2xx/3xx and socket errors per route, the
#     service's 5xx by route (/metrics), crashes (any process gone before the
#     end, ntspoold's exit status after SIGTERM);
#   - the RSS table and the growth after warm-up (WARMUP s, default half the
#     run: the SQLite page cache and the memory map of the growing database
#     fill for several intervals): end - warm-up value and the slope;
#   - the scheduler lag p50/p99 and the probes/s after warm-up (/metrics
#     deltas), the API p50/p99 per route (wrk), the agents' stats lines;
#   - the database after the run (file, WAL, pages in use, samples, hourly
#     rows) and after retention: the service restarted with retention_days =
#     1 and no monitor until every sample older than a day is folded.
# Exit 1 on any error status, crash, or an RSS growth after warm-up above
# RSS_MAX_GROWTH_PCT (default 10) percent.
#   scripts/soak.sh   (env: SOAK_SECONDS=600 SOURCES=10000 SERVERS=4 INTERVAL=120
#                      WARMUP=SOAK_SECONDS/2 PREFILL=10 AGE=172800 CONN=2
#                      DELAY_MS=10 RSS_MAX_GROWTH_PCT=10; BENCH_PORT_MIN/MAX
#                      narrow the ports, within 20000-29999; SOAK_BIN,
#                      SOAK_BUILD and SOAK_NO_BUILD=1 run other, prebuilt
#                      binaries: tests/system/085-soak-short.sh)
# Loopback only; about SOAK_SECONDS + 1-3 minutes (fill, retention).
. "$(dirname "$0")/bench-lib.sh"
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOURCES=${SOURCES:-10000}
SERVERS=${SERVERS:-4}
INTERVAL=${INTERVAL:-120}
WARMUP=${WARMUP:-$((SOAK_SECONDS / 2))}
PREFILL=${PREFILL:-10}
AGE=${AGE:-172800}
CONN=${CONN:-2}
DELAY_MS=${DELAY_MS:-10}
RSS_MAX_GROWTH_PCT=${RSS_MAX_GROWTH_PCT:-10}
for tool in wrk sqlite3 jq; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not installed"
done
fails=0
failed() { echo "FAIL: $*"; fails=$((fails + 1)); }

bench_build
make_pki
start_servers "$SERVERS"
n_names=$(((SOURCES + SERVERS - 1) / SERVERS))
python3 - "$n_names" >"$tmp/hosts" <<'PY'
import sys
print("127.0.0.1 localhost")
for i in range(int(sys.argv[1])):
    print(f"127.0.0.1 s{i}.bench.test")
PY
echo "machine: $(nproc) cores, $(uname -sr), SQLite $(pkg-config --modversion sqlite3)"
echo "setup: $SOURCES sources over $SERVERS ntstestd (KE ports $ports), interval $INTERVAL s," \
    "soak $SOAK_SECONDS s (warm-up $WARMUP s), prefill $PREFILL rounds x 4 kinds dated $AGE s ago"
mkdir -p "$tmp/var"
DB=$tmp/var/ntspool.db
TOKEN=$("$BUILD/tools/bench_fill" -d "$DB" -n "$SOURCES" -p "$ports" -r "$PREFILL" -a "$AGE" \
    2>"$tmp/fill.log") || { cat "$tmp/fill.log" >&2; die "cannot fill the database"; }
tail -n 1 "$tmp/fill.log"
new_port
HPORT=$PORT
URL=http://127.0.0.1:$HPORT
# soak_conf BUILTIN RETENTION_DAYS
soak_conf() {
    write_conf "$HPORT" "store.retention_days=$2" "monitor.builtin=$1" "monitor.interval=$INTERVAL" \
        monitor.ke_timeout=10 monitor.ntp_timeout=1 "monitor.ca_file=$CA" monitor.allow_private=yes
}
soak_conf yes 15
D=${SOAK_BIN:-$top/bin}/ntspoold
for n in 1 2 3; do
    "$D" -c "$tmp/ntspoold.conf" monitor-add "soak-$n" >"$tmp/key$n" 2>>"$tmp/admin.log" ||
        die "monitor-add: $(cat "$tmp/admin.log")"
done
start_ntspoold "$tmp/ntspoold.conf" "$tmp/hosts" "$URL"
echo "ntspoold: pid $DPID on $URL"

# Two agents in a namespace with the same /etc/hosts.
APIDS=""
for n in 1 2; do
    cat >"$tmp/m$n.conf" <<EOF
[monitor]
url = $URL
key_file = $tmp/key$n
probe_ca_file = $CA
spool = $tmp/spool$n
allow_private = yes
clock_check = no
[log]
level = info
EOF
    unshare --user --map-root-user --mount sh -c \
        'mount --bind "$1" /etc/hosts && exec "$2" -c "$3"' sh "$tmp/hosts" \
        "${SOAK_BIN:-$top/bin}/ntspool-monitor" "$tmp/m$n.conf" 2>"$tmp/a$n.log" &
    eval "APID$n=$!"
    APIDS="$APIDS $!"
    PIDS="$PIDS $!"
done

# wrk: one paced process per route, random source per request.
cat >"$tmp/common.lua" <<EOF
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
local ports = {$ports}
wrk.headers["Authorization"] = "Bearer $TOKEN"
delay = function() return $DELAY_MS end
function src_id() return math.random(1, $SOURCES) end
function src_host()
  local i = math.random(0, $SOURCES - 1)
  return "s" .. math.floor(i / $SERVERS) .. ".bench.test:" .. ports[i % $SERVERS + 1]
end
EOF
route_lua() { # NAME LUA-EXPRESSION-FOR-THE-PATH
    { cat "$tmp/common.lua"; echo "request = function() return wrk.format(\"GET\", $2) end"; } \
        >"$tmp/$1.lua"
}
route_lua healthz '"/healthz"'
route_lua home '"/"'
route_lua source '"/api/v1/time-sources/" .. src_id()'
route_lua samples '"/api/v1/time-sources/" .. src_id() .. "/samples?limit=20"'
route_lua compat '"/scores/" .. src_host() .. "/json?limit=50"'
ROUTES="healthz home source samples compat"
WPIDS=""
for r in $ROUTES; do
    wrk -t1 -c"$CONN" -d"${SOAK_SECONDS}s" --timeout 5s --latency -s "$tmp/$r.lua" "$URL" \
        >"$tmp/wrk.$r" 2>&1 &
    WPIDS="$WPIDS $!"
    PIDS="$PIDS $!"
done

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }
alive() { for p in "$@"; do kill -0 "$p" 2>/dev/null || return 1; done; }

# The sampling loop: every 10 s, bounded by the run's length.
t_start=$(date +%s)
: >"$tmp/rss"
: >"$tmp/getwork"
echo "t_s ntspoold_rss_mib agent1_rss_mib agent2_rss_mib probes_total" >"$tmp/rss"
crashed=""
WARM=""
tick=0
while :; do
    now=$(date +%s)
    el=$((now - t_start))
    curl -s --max-time 10 "$URL/metrics" >"$tmp/metrics.now" 2>/dev/null || true
    probes=$(awk '/^ntspool_probes_total/ {s += $2} END {printf "%d", s}' "$tmp/metrics.now")
    echo "$el $(($(rss_kib "$DPID") / 1024)) $(($(rss_kib "$APID1") / 1024))" \
        "$(($(rss_kib "$APID2") / 1024)) $probes" >>"$tmp/rss"
    if [ $((tick % 3)) = 0 ]; then
        curl -s -o /dev/null --max-time 30 -w "$el %{http_code} %{time_total} %{size_download}\n" \
            -H "Authorization: Bearer $(cat "$tmp/key3")" "$URL/monitoring/get_work" \
            >>"$tmp/getwork" 2>/dev/null || echo "$el 000 0 0" >>"$tmp/getwork"
    fi
    if [ -z "$WARM" ] && [ "$el" -ge "$WARMUP" ] && [ -s "$tmp/metrics.now" ]; then
        WARM=$el
        cp "$tmp/metrics.now" "$tmp/m0"
        tw0=$(date +%s.%N)
    fi
    # shellcheck disable=SC2086
    alive "$DPID" $APIDS $spids || { crashed="a process died at t=$el s"; break; }
    [ "$el" -lt "$SOAK_SECONDS" ] || break
    tick=$((tick + 1))
    sleep $((10 - ($(date +%s) - now) > 0 ? 10 - ($(date +%s) - now) : 1))
done
curl -s --max-time 10 "$URL/metrics" >"$tmp/m1" || true
tw1=$(date +%s.%N)
for p in $WPIDS; do wait "$p" 2>/dev/null || true; done
[ -n "$crashed" ] && failed "$crashed"

echo
echo "== RSS (MiB) every 10 s; warm-up until t=${WARM:-?} s"
column -t "$tmp/rss"
python3 - "$tmp/rss" "${WARM:-0}" "$RSS_MAX_GROWTH_PCT" >"$tmp/rss.res" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])][1:]
warm, limit = float(sys.argv[2]), float(sys.argv[3])
after = [(float(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in rows if float(r[0]) >= warm]
if len(after) < 2:
    print("HEADLINE RSS: too few samples after warm-up"); print("rss_ok=0"); sys.exit()
def slope(xs, ys):
    n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
    d = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / d * 60 if d else 0
for col, name in ((1, "ntspoold"), (2, "agent 1"), (3, "agent 2")):
    xs = [a[0] for a in after]; ys = [a[col] for a in after]
    g = ys[-1] - ys[0]
    pct = 100 * g / ys[0] if ys[0] else 0
    print(f"HEADLINE RSS {name}: {ys[0]:.0f} MiB after warm-up -> {ys[-1]:.0f} MiB at the end "
          f"(growth {g:+.0f} MiB, {pct:+.1f}%; max {max(ys):.0f} MiB; slope {slope(xs, ys):+.2f} MiB/min)")
    if col == 1:
        print(f"rss_ok={1 if pct <= limit else 0}")
PY
grep -v '^rss_ok' "$tmp/rss.res"
grep -q '^rss_ok=1' "$tmp/rss.res" || failed "ntspoold RSS grew more than $RSS_MAX_GROWTH_PCT% after warm-up"

echo
echo "== API under load (paced wrk per route, -t1 -c$CONN, ${DELAY_MS} ms between requests per connection)"
for r in $ROUTES; do
    python3 - "$tmp/wrk.$r" "$r" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v, u):
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u]
m = re.search(r"(\d+) requests in", t)
n = int(m.group(1)) if m else 0
p = {q: ms(*re.search(q + r"%\s+([0-9.]+)(us|ms|s)", t).groups()) if re.search(q + "%", t) else float("nan")
     for q in ("50", "99")}
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
nb = int(bad.group(1)) if bad else 0
ne = sum(map(int, err.groups())) if err else 0
print(f"HEADLINE {sys.argv[2]:8s} {n:8d} requests  p50 {p['50']:.2f} ms  p99 {p['99']:.2f} ms  "
      f"non-2xx/3xx {nb}  socket errors {ne}" + (f" ({err.group(0)})" if err else ""))
print(f"errors {nb + ne}", file=sys.stderr)
PY
done 2>"$tmp/wrk.errors"
werr=$(awk '{s += $2} END {print s + 0}' "$tmp/wrk.errors")
[ "$werr" = 0 ] || failed "wrk saw $werr error statuses or socket errors"
for r in $ROUTES; do grep -q "requests in" "$tmp/wrk.$r" || failed "wrk $r: $(tail -n 2 "$tmp/wrk.$r")"; done
grep -E '^ntspool_http_requests_total' "$tmp/m1" >"$tmp/http" || true
# A submit answered 503 while the WAL waits for its checkpoint is the
# service's back-pressure (the agent keeps the batch and sends it again):
# counted, not an error.
busy=$(grep -E 'route="/monitoring/submit",status="503"' "$tmp/http" | awk '{print $2}')
s5=$(grep -E 'status="5[0-9][0-9]"' "$tmp/http" | grep -v 'route="/monitoring/submit",status="503"' || true)
s4=$(grep -E 'status="4[0-9][0-9]"' "$tmp/http" || true)
echo "service's answers by route and status (/metrics at the end):"
sed 's/^ntspool_http_requests_total/    /' "$tmp/http"
echo "HEADLINE submits answered 503 busy (back-pressure, sent again): ${busy:-0}"
[ -z "$s5" ] || failed "5xx answers: $s5"
[ -z "$s4" ] || failed "4xx answers: $s4"

echo
echo "== monitor after warm-up"
secs=$(python3 -c "print($tw1 - ${tw0:-$tw1})")
if [ -s "$tmp/m0" ]; then
    python3 "$top/scripts/bench-metrics.py" probes "$tmp/m0" "$tmp/m1" "$secs" >"$tmp/probes.env"
    . "$tmp/probes.env"
    echo "HEADLINE built-in monitor: $probes_per_s probes/s over ${secs%.*} s (ok fraction" \
        "$ok_fraction; $reasons), target $(python3 -c "print(f'{$SOURCES / $INTERVAL:.1f}')")/s;" \
        "samples stored $stored_per_s/s (built-in and agents), dropped $dropped"
    echo "HEADLINE scheduler lag: p50 $lag_p50_ms ms, p99 $lag_p99_ms ms"
    echo "database batches: $batches, p50 $batch_p50_ms ms, p99 $batch_p99_ms ms"
    [ "$dropped" = 0 ] || failed "$dropped samples dropped"
fi
echo "GET /monitoring/get_work ($SOURCES sources), every 30 s: t status seconds bytes"
sed 's/^/    /' "$tmp/getwork"
python3 - "$tmp/getwork" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = [float(r[2]) * 1000 for r in rows if r[1] == "200"]
if ok:
    ok.sort()
    print(f"HEADLINE get_work under load: {len(ok)} fetches, median {ok[len(ok) // 2]:.0f} ms, "
          f"max {ok[-1]:.0f} ms, {int(rows[-1][3]) / 1e6:.1f} MB")
PY
grep -qv ' 200 ' "$tmp/getwork" && failed "a get_work fetch failed"

echo
echo "== stop"
for n in 1 2; do
    eval "p=\$APID$n"
    kill "$p" 2>/dev/null
    wait "$p"
    st=$?
    [ "$st" = 0 ] || failed "agent $n: exit status $st"
    echo "agent $n: $(grep 'stats:' "$tmp/a$n.log" | tail -n 1 | sed 's/^.*stats:/stats:/')"
    grep 'stats:' "$tmp/a$n.log" | tail -n 1 | grep -Eq 'lost 0([^0-9]|$)' ||
        failed "agent $n lost results"
done
kill "$DPID"
wait "$DPID"
st=$?
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$DPID" | tr '\n' ' ')
[ "$st" = 0 ] || failed "ntspoold: exit status $st after SIGTERM"
grep -E "ERROR|error|CRIT" "$tmp/ntspoold.log" | head -n 5 || true
cp "$tmp/ntspoold.log" "$tmp/ntspoold.soak.log"

# db_report WHEN
db_report() {
    python3 - "$DB" "$1" "$(date +%s)" <<'PY'
import os, sqlite3, sys
path, when, now = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = sqlite3.connect(path)
q = lambda s: c.execute(s).fetchone()[0]
page, pages, free = q("PRAGMA page_size"), q("PRAGMA page_count"), q("PRAGMA freelist_count")
wal = os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0
print(f"HEADLINE database {when}: file {os.path.getsize(path) / 2**20:.1f} MiB + WAL {wal / 2**20:.1f} MiB, "
      f"in use {(pages - free) * page / 2**20:.1f} MiB ({free} free pages); "
      f"samples {q('SELECT count(*) FROM samples')} "
      f"(older than a day: {q(f'SELECT count(*) FROM samples WHERE time < {now - 86400}')}), "
      f"hourly rows {q('SELECT count(*) FROM hourly')}")
print(f"old={q(f'SELECT count(*) FROM samples WHERE time < {now - 86400}')}")
PY
}
echo
db_report "after the run" >"$tmp/db1"
grep -v '^old=' "$tmp/db1"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || failed "integrity_check after the run"

echo "== retention: restart with retention_days = 1, no monitor"
soak_conf no 1
t0=$(date +%s)
: >"$tmp/ntspoold.log"
start_ntspoold "$tmp/ntspoold.conf" "$tmp/hosts" "$URL"
while :; do
    old=$(sqlite3 "$DB" "SELECT count(*) FROM samples WHERE time < $(($(date +%s) - 86400))" 2>/dev/null || echo 1)
    [ "$old" = 0 ] && break
    [ $(($(date +%s) - t0)) -lt 600 ] || { failed "retention did not fold within 600 s ($old left)"; break; }
    sleep 2
done
echo "folded in $(($(date +%s) - t0)) s"
stop_pid "$DPID"
db_report "after retention" | grep -v '^old='
exit $((fails > 0))
