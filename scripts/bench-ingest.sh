#!/bin/sh
# Benchmark of the monitor API's ingest (not a test: figures to read; issue 9
# part 5).  How many results per second ntspoold takes through POST
# /monitoring/submit (HTTP + JSON parse + checks + score + store, one
# transaction per submit) from AGENTS concurrent remote monitors, for batches
# of 10 and of 100 results, next to the store's own batched rate measured in
# the same run (bench/bench_ingest.c: db_store_samples in batches of the same
# size, same sources and monitors, on a copy of the same database, no HTTP).
#
# Setup: a database of SOURCES time sources with ROUNDS rounds x 4 kinds of
# samples of one older monitor (bench/bench_fill.c), AGENTS monitors
# (ntspoold monitor-add ingest-N, one key each), ntspoold with [monitor]
# builtin = no, [http] rate_limit = 0, clock_check = no.  Posters: wrk with a
# Lua script, one thread and one connection per agent, each with its own
# monitor key; every request is a new body of BATCH results in the shape of
# tests/data/monitor-api/submit-existing.json (Srvv4 / Srvv6), each agent
# walking its own shuffled list of (source uuid, kind) dated now, so no
# result is a duplicate.  The Lua script counts the answers: HTTP 200 and the
# "stored" / "duplicate" / "refused" counts of each.
#
# Per batch size and run: samples/s stored (the ntspool_samples_stored_total
# delta of /metrics over wrk's duration; the database count of the agents'
# samples is checked against the sum at the end), requests/s, p50/p99
# latency, ntspoold's CPU; then the store alone for BASE_DUR s; and the ratio.
# Each configuration runs REPS times (the machine is shared and noisy).
# Targets: >= 5,000 samples/s through HTTP and >= 1/3 of the store's own
# rate (10,000 sources x 10 monitors need about 1,700/s).
#   scripts/bench-ingest.sh   (env: SOURCES=10000 ROUNDS=10 AGENTS=10 DUR=20
#                              BASE_DUR=10 BATCHES="10 100" REPS=2; PERF=FILE
#                              records a perf profile of ntspoold during the
#                              first run of batch PERF_BATCH=10)
# Loopback only; ports from BENCH_PORT_MIN..BENCH_PORT_MAX (bench-lib.sh);
# about 3-4 minutes with the defaults.  Stops only the pids it started.
. "$(dirname "$0")/bench-lib.sh"
SOURCES=${SOURCES:-10000}
ROUNDS=${ROUNDS:-10}
AGENTS=${AGENTS:-10}
DUR=${DUR:-20}
BASE_DUR=${BASE_DUR:-10}
BATCHES=${BATCHES:-10 100}
REPS=${REPS:-2}
PERF_BATCH=${PERF_BATCH:-10}
for tool in wrk sqlite3 timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not installed"
done

bench_build
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)," \
    "SQLite $(pkg-config --modversion sqlite3), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
mkdir -p "$tmp/var" "$tmp/base"
DB=$tmp/var/ntspool.db
"$BUILD/tools/bench_fill" -d "$DB" -n "$SOURCES" -p 4460 -r "$ROUNDS" >/dev/null \
    2>"$tmp/fill.log" || { cat "$tmp/fill.log" >&2; die "cannot fill the database"; }
new_port
HPORT=$PORT
URL=http://127.0.0.1:$HPORT
write_conf "$HPORT" monitor.builtin=no
: >"$tmp/keys"
for i in $(seq 1 "$AGENTS"); do
    "$top/bin/ntspoold" -c "$tmp/ntspoold.conf" monitor-add "ingest-$i" >>"$tmp/keys" \
        2>>"$tmp/setup.log" || die "monitor-add ingest-$i failed"
done
sqlite3 "$DB" "SELECT uuid FROM time_sources WHERE deleted IS NULL ORDER BY id" >"$tmp/uuids"
[ "$(wc -l <"$tmp/uuids")" -eq "$SOURCES" ] || die "expected $SOURCES source uuids"
# The baseline's copy of the same database (nothing has it open now).
cp "$DB" "$tmp/base/ntspool.db"
echo "setup: $SOURCES sources, $((ROUNDS * 4 * SOURCES)) older samples" \
    "($(du -m "$DB" | cut -f1) MB), $AGENTS agents (monitors ingest-1..$AGENTS)"

printf '127.0.0.1 localhost\n' >"$tmp/hosts"
start_ntspoold "$tmp/ntspoold.conf" "$tmp/hosts" "$URL"

# One submit of the fixture by curl (dated an hour ago: no clash with the
# posters' results, which are dated now): 200, one stored.
K1=$(head -n 1 "$tmp/keys")
U1=$(head -n 1 "$tmp/uuids")
sed -e "s/@UUID@/$U1/g" -e "s/@START@/$(($(date +%s) - 3600))/g" \
    "$top/tests/data/monitor-api/submit-existing.json" >"$tmp/check.json"
code=$(curl -s -o "$tmp/check.out" -w '%{http_code}' -H "Authorization: Bearer $K1" \
    -H 'Content-Type: application/json' --data-binary @"$tmp/check.json" "$URL/monitoring/submit")
[ "$code" = 200 ] && grep -q '"stored": *1' "$tmp/check.out" ||
    die "fixture submit: HTTP $code $(head -c 300 "$tmp/check.out")"

# The posters.  wrk calls setup() per thread (one thread = one connection =
# one agent), then init() in each thread, request() per request, response()
# per answer, and done() once with every thread's counters.
cat >"$tmp/ingest.lua" <<EOF
local keys_file, uuids_file = "$tmp/keys", "$tmp/uuids"
local threads, nthreads = {}, 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("agent", nthreads)
  table.insert(threads, thread)
end
local function lines(path)
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end
local ntp = '{"status":"Success","request_sent":%d,"roundtrip_duration":0.00819,' ..
  '"remote_residence_time":0.000075,"offset":%.7f,"stratum":2,' ..
  '"leap_indicates_synchronized":true,"requested_cookies":1,"received_cookies":1}'
local item = '[["%s","%s"],{"keyexchange":{"status":"Success","description":"",' ..
  '"exchange_start":%d.%03d,"exchange_duration":0.0655,"num_cookies":8},' ..
  '"ntp_with_ke_cookie":' .. ntp .. ',"ntp_with_ntp_cookie":' .. ntp .. '}]'
function init(args)
  batch = tonumber(args[1])
  local keys = lines(keys_file)
  uuids = lines(uuids_file)
  headers = {["Authorization"] = "Bearer " .. keys[agent],
             ["Content-Type"] = "application/json"}
  math.randomseed(os.time() * 1000 + agent)
  npairs = 2 * #uuids
  perm = {}
  for i = 1, npairs do perm[i] = i - 1 end
  for i = npairs, 2, -1 do
    local j = math.random(i)
    perm[i], perm[j] = perm[j], perm[i]
  end
  cursor, seq = 0, 0
  responses, ok, stored, dup, refused, unparsed = 0, 0, 0, 0, 0, 0
end
function request()
  local now, parts = os.time(), {}
  for i = 1, batch do
    cursor = cursor % npairs + 1
    seq = seq + 1
    local p = perm[cursor]
    parts[i] = string.format(item, p % 2 == 0 and "Srvv4" or "Srvv6",
      uuids[math.floor(p / 2) + 1], now, seq % 1000,
      now, 0.0000463 + (math.random() - 0.5) * 2e-4,
      now, 0.0000471 + (math.random() - 0.5) * 2e-4)
  end
  return wrk.format("POST", "/monitoring/submit", headers, "[" .. table.concat(parts, ",") .. "]")
end
function response(status, hdrs, body)
  responses = responses + 1
  if status == 200 then ok = ok + 1 end
  local s = tonumber(body:match('"stored":%s*(%d+)'))
  local d = tonumber(body:match('"duplicate":%s*(%d+)'))
  local r = tonumber(body:match('"refused":%s*(%d+)'))
  if s and d and r then
    stored, dup, refused = stored + s, dup + d, refused + r
  else
    unparsed = unparsed + 1
  end
end
function done(summary, latency, requests)
  local t = {responses = 0, ok = 0, stored = 0, dup = 0, refused = 0, unparsed = 0}
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + th:get(k) end
  end
  io.write(string.format("LUA responses=%d ok=%d stored=%d duplicate=%d refused=%d unparsed=%d\n",
    t.responses, t.ok, t.stored, t.dup, t.refused, t.unparsed))
end
EOF

stored_total() {
    curl -s "$URL/metrics" | sed -n 's/^ntspool_samples_stored_total \([0-9]*\)$/\1/p'
}

# run_http BATCH REP: one wrk run; appends a key=value line to $tmp/res
run_http() {
    if [ -n "${PERF:-}" ] && [ "$1" = "$PERF_BATCH" ] && [ "$2" = 1 ]; then
        perf record -q -F 999 -g -p "$DPID" -o "$PERF" -- sleep "$DUR" 2>/dev/null &
        PIDS="$PIDS $!"
    fi
    s0=$(stored_total)
    c0=$(cpu_ticks "$DPID")
    # wrk under python3 for its CPU time (RUSAGE_CHILDREN), on the last line
    python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print("WRKCPU", u.ru_utime + u.ru_stime)
sys.exit(rc)' timeout $((DUR + 60)) wrk -t"$AGENTS" -c"$AGENTS" -d"${DUR}s" --timeout 10s \
        --latency -s "$tmp/ingest.lua" "$URL/monitoring/submit" -- "$1" >"$tmp/wrk.$1.$2" 2>&1 ||
        { cat "$tmp/wrk.$1.$2" >&2; die "wrk failed"; }
    c1=$(cpu_ticks "$DPID")
    sleep 0.5 # answers still in flight when wrk stopped
    s1=$(stored_total)
    python3 - "$tmp/wrk.$1.$2" "$1" "$2" "$s0" "$s1" "$((c1 - c0))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
batch, rep, s0, s1, ticks, hz = sys.argv[2:]
def ms(v, u):
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u]
m = re.search(r"(\d+) requests in ([0-9.]+)(us|ms|s|m)", t)
secs = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[m.group(3)]
rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", t).group(1))
p50 = ms(*re.search(r"50%\s+([0-9.]+)(us|ms|s)", t).groups())
p99 = ms(*re.search(r"99%\s+([0-9.]+)(us|ms|s)", t).groups())
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
err = re.search(r"Socket errors: (.*)", t)
lua = dict(kv.split("=") for kv in re.search(r"LUA (.*)", t).group(1).split())
delta = int(s1) - int(s0)
wcpu = float(re.search(r"WRKCPU ([0-9.]+)", t).group(1))
dcpu = int(ticks) / int(hz)
print(f"http batch={batch} rep={rep} secs={secs:.2f} rps={rps:.1f} p50={p50:.2f} p99={p99:.2f}"
      f" non2xx={bad.group(1) if bad else 0} sockerr={'yes' if err else 'no'}"
      f" delta={delta} rate={delta / secs:.0f} cpu={dcpu / secs * 100:.0f}"
      f" cpu_us={dcpu * 1e6 / max(delta, 1):.1f} wrk_cpu={wcpu / secs * 100:.0f}"
      + "".join(f" lua_{k}={v}" for k, v in lua.items()))
PY
}

: >"$tmp/res"
for rep in $(seq 1 "$REPS"); do
    for b in $BATCHES; do
        run_http "$b" "$rep" >>"$tmp/res"
        tail -n 1 "$tmp/res" | sed 's/^/  /'
        "$BUILD/tools/bench_ingest" -d "$tmp/base/ntspool.db" -b "$b" -t "$BASE_DUR" \
            -S "$rep" >"$tmp/base.out" 2>&1 || { cat "$tmp/base.out" >&2; die "bench_ingest failed"; }
        echo "base rep=$rep $(cat "$tmp/base.out")" >>"$tmp/res"
        tail -n 1 "$tmp/res" | sed 's/^/  /'
    done
done

# The agents' samples in the database against the metric's deltas (+1: the
# fixture submit).
indb=$(sqlite3 "$DB" "SELECT count(*) FROM samples WHERE monitor IN
    (SELECT id FROM monitors WHERE name LIKE 'ingest-%')")
python3 - "$tmp/res" "$indb" "$AGENTS" "$DUR" "$BASE_DUR" <<'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    f = line.split()
    kind = f[0]
    d = dict(kv.split("=", 1) for kv in f[1:] if "=" in kv)
    d["kind"] = "base" if kind == "base" else "http"
    rows.append(d)
indb, agents, dur, bdur = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
http = [r for r in rows if r["kind"] == "http"]
deltas = sum(int(r["delta"]) for r in http)
print(f"wrk -t{agents} -c{agents} -d{dur}s (one connection per agent, its own key);"
      f" the store alone for {bdur} s after each HTTP run, on a copy of the database")
ok_all = True
for r in http:
    b, rep = r["batch"], r["rep"]
    base = next(x for x in rows if x["kind"] == "base" and x["batch"] == b and x["rep"] == rep)
    rate, brate = float(r["rate"]), float(base["rate"])
    clean = (r["non2xx"] == "0" and r["sockerr"] == "no" and r["lua_duplicate"] == "0"
             and r["lua_refused"] == "0" and r["lua_unparsed"] == "0"
             and r["lua_ok"] == r["lua_responses"]
             and int(r["lua_stored"]) == int(r["lua_responses"]) * int(b))
    ok_all = ok_all and clean
    met = rate >= 5000 and rate >= brate / 3
    print(f"HEADLINE batch {b:>3} run {rep}: HTTP {rate:6.0f} samples/s"
          f" ({float(r['rps']):.0f} req/s, p50 {r['p50']} ms, p99 {r['p99']} ms,"
          f" ntspoold CPU {r['cpu']}% = {r['cpu_us']} us/sample, wrk CPU {r['wrk_cpu']}%);"
          f" store alone {brate:6.0f} samples/s (call p50 {base['p50_ms']} ms,"
          f" p99 {base['p99_ms']} ms, CPU {base['cpu_us']} us/sample);"
          f" ratio {rate / brate:.2f}; targets {'met' if met else 'MISSED'}")
    print(f"    answers: {r['lua_responses']} (HTTP 200: {r['lua_ok']}, non-2xx {r['non2xx']},"
          f" socket errors {r['sockerr']}); results stored {r['lua_stored']},"
          f" duplicate {r['lua_duplicate']}, refused {r['lua_refused']}"
          f" ({'all stored' if clean else 'NOT ALL STORED'}); metric delta {r['delta']}")
print(f"database: {indb} samples of the agents; metric deltas {deltas} + 1 fixture"
      f" ({'consistent' if indb == deltas + 1 else 'MISMATCH'})")
if not ok_all or indb != deltas + 1:
    sys.exit(1)
PY
grep -E "ERROR|error" "$tmp/ntspoold.log" | head -n 5 || true
