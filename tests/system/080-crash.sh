#!/bin/sh
# System test: crash safety (SECURITY.md "Crash safety").
#  - ntspoold with its built-in monitor probing four test-bed sources every
#    3 s, two ntspool-monitor agents submitting to it in batches of 2 and a
#    third monitor (crash_hammer.py) submitting batches of 120 without pause;
#  - ntspoold killed with SIGKILL at least 20 times, at random moments, half
#    of them timed on a submit of the hammer (so they land in its parse, its
#    transaction, its commit or its answer), and restarted on the same
#    database and port each time;
#  - the agents killed with SIGKILL while the service is down (spooling), and
#    again while they re-send their spools;
#  - then: the spools drain; PRAGMA integrity_check is ok; every result the
#    service acknowledged (agents: their debug log, the hammer: its record)
#    is stored exactly once; each monitor's sample counter matches its
#    samples; every stored score, and each latest score, equals a replay of
#    the stored steps through the scorer (tests/tools/score_replay), and each
#    kind's score in the API is the lower median the replay gives.
# NTSPOOL_SANITIZE=1 (make sanitize) stretches the time limits, not the kill
# count nor the kill times.
. "$(dirname "$0")/lib.sh"

D=$BIN/ntspoold
REPLAY=$BUILD/tests/tools/score_replay
for tool in jq curl sqlite3 python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool not installed"; exit 1; }
done
for x in "$D" "$BIN/ntspool-monitor" "$REPLAY"; do
    [ -x "$x" ] || { echo "FAIL: $x missing"; exit 1; }
done

KILLS=20
SLOW=1
[ "${NTSPOOL_SANITIZE:-}" = 1 ] && SLOW=2
SEED=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "random seed $SEED (CRASH_SEED=$SEED repeats the kill times)"
draws=0
T0=$(date +%s)
phase() { echo "== $* ($(($(date +%s) - T0)) s)"; }
# rnd LO HI: R = a random number in [LO, HI) (from SEED, a new one each call;
# not in a subshell, so that the draws count)
rnd() {
    draws=$((draws + 1))
    R=$(awk -v s="$SEED" -v d="$draws" -v lo="$1" -v hi="$2" \
        'BEGIN { srand(s + d * 7919); printf "%.3f", lo + rand() * (hi - lo) }')
}

DPID="" A1="" A2="" HPID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    for p in $HPID $A1 $A2 $DPID; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ "$failures" -gt 0 ]; then # the logs, for a look
        rm -rf "$BUILD/test-logs/080-crash"
        mkdir -p "$BUILD/test-logs/080-crash"
        cp "$tmp"/*.log "$tmp"/*.out "$tmp"/hammer.* "$BUILD/test-logs/080-crash/" 2>/dev/null
        echo "logs kept in $BUILD/test-logs/080-crash"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
DB=$tmp/var/ntspool.db
# write_conf BUILTIN: the service's configuration
write_conf() {
    cat >"$tmp/d.conf" <<EOF
[http]
listen = 127.0.0.1:$PORT
[store]
database = $DB
secret_file = $tmp/var/secret
[monitor]
builtin = $1
interval = 3
ke_timeout = 2
ntp_timeout = 0.5
ca_file = $TB_CA
allow_private = yes
clock_check = no
result_batchsize = 2
result_max_waittime = 1
EOF
}
starts=0
# start_d: ntspoold on the same database and port; its log d.N.log
start_d() {
    starts=$((starts + 1))
    ntspoold_start "$tmp/d.conf" "$tmp/d.$starts.log" "$URL" || {
        bad "ntspoold start $starts"
        exit 1
    }
    # Our process answers, not another one that took the port meanwhile.
    if ! kill -0 "$DPID" 2>/dev/null; then
        bad "ntspoold start $starts: the port answers, but ntspoold exited"
        cat "$tmp/d.$starts.log"
        exit 1
    fi
}
kill_d() {
    kill -KILL "$DPID"
    wait "$DPID" 2>/dev/null
    DPID=""
}
# start_a N: agent N (remote-N, spool N), its log a.N.K.log for its Kth start
n_a1=0 n_a2=0
start_a() {
    eval "k=\$((n_a$1 + 1)); n_a$1=\$k"
    agent_start "a.$1.$k" "$tmp/m$1.conf"
    eval "A$1=\$APID"
}
kill_a() {
    eval "p=\$A$1"
    kill -KILL "$p"
    wait "$p" 2>/dev/null
}
batches() { # DIR: the number of batch files in a spool
    ls "$1" 2>/dev/null | grep -c '\.batch$'
}

phase "the service, two agents and the hammer"
write_conf yes
start_d
TOKEN=$("$D" -c "$tmp/d.conf" user-add ops@example.org 2>/dev/null)
for n in 1 2; do "$D" -c "$tmp/d.conf" monitor-add "remote-$n" >"$tmp/key$n" 2>/dev/null; done
"$D" -c "$tmp/d.conf" monitor-add hammer >"$tmp/keyh" 2>/dev/null
: >"$tmp/uuids"
for p in "$TB_SYNC_KE" "$TB_UNSYNC_KE" "$TB_STRATUM10_KE" "$TB_EXPIRED_KE"; do
    api add POST /api/v1/time-sources "{\"host\": \"localhost\", \"port\": $p}"
    [ "$(cat "$tmp/add.rc")" = 201 ] || { bad "add localhost:$p: $(cat "$tmp/add.rc")"; exit 1; }
    jq -r .uuid "$tmp/add.json" >>"$tmp/uuids"
done
ok "4 sources registered"
for n in 1 2; do
    agent_conf "$n" debug
    start_a $n
done
q_mon="SELECT count(DISTINCT m.name) FROM samples s JOIN monitors m ON m.id = s.monitor WHERE m.name IN ('remote-1', 'remote-2', 'builtin')"
end=$(($(date +%s) + 30 * SLOW))
while [ "$(sqlite3 "$DB" "$q_mon" 2>/dev/null)" != 3 ] && [ "$(date +%s)" -le "$end" ]; do
    sleep 0.5
done
[ "$(sqlite3 "$DB" "$q_mon")" = 3 ] && ok "samples of the built-in monitor and both agents arrive" ||
    { bad "monitors with samples: $(sqlite3 "$DB" "$q_mon")"; tail -n 5 "$tmp/a.1.1.log"; exit 1; }
: >"$tmp/hammer.marks"
python3 "$top/tests/system/crash_hammer.py" "$URL/monitoring/submit" "$tmp/keyh" \
    "$tmp/uuids" "$tmp/hammer.acks" "$tmp/hammer.marks" 2>"$tmp/hammer.err" &
HPID=$!
sleep 1

phase "ntspoold killed $KILLS times"
t_start=$(date +%s)
kills=0
while [ $kills -lt $KILLS ]; do
    kills=$((kills + 1))
    if [ $((kills % 2)) = 0 ]; then
        # Timed on the hammer: its next request, then a moment within it.
        n0=$(wc -l <"$tmp/hammer.marks")
        j=0
        while [ "$(wc -l <"$tmp/hammer.marks")" -le "$n0" ] && [ $j -lt 300 ]; do
            sleep 0.01
            j=$((j + 1))
        done
        rnd 0 0.04
    else
        rnd 0.1 1
    fi
    sleep "$R"
    kill_d
    rnd 0 0.3
    sleep "$R" # down for a moment: agents fail and spool
    start_d
done
ok "ntspoold killed with SIGKILL and restarted $KILLS times in $(($(date +%s) - t_start)) s"

phase "agents killed while spooling and while re-sending"
kill_d
sleep $((3 * SLOW))
for n in 1 2; do
    f=$(batches "$tmp/spool$n")
    if [ "$f" -gt 0 ]; then ok "agent $n: $f batches in its spool with the service down"; else
        bad "agent $n: nothing spooled"; fi
done
for round in 1 2; do
    for n in 1 2; do
        kill_a $n
        f=$(batches "$tmp/spool$n")
        start_a $n
        eval "k=\$n_a$n"
        if wait_log $((10 * SLOW)) "$tmp/a.$n.$k.log" "spool: .* in $f batches from before"; then
            ok "agent $n: SIGKILL $round while spooling; restarted with its $f spooled batches"
        else bad "agent $n: restart $k did not find its $f batches"; grep spool "$tmp/a.$n.$k.log"; fi
    done
    rnd 1 2
    sleep "$R"
done
# When an agent re-sends its spool (oldest first, one batch at a time) after
# the service is back: kill it as soon as its spool shrank, while batches
# remain (python3 polls the directories every millisecond, from before the
# service starts; a batch takes longer to send).
python3 - "$A1" "$tmp/spool1" "$A2" "$tmp/spool2" $((40 * SLOW)) "$tmp/resend.ready" \
    <<'EOF' >"$tmp/resend.out" &
import os, signal, sys, time
a = sys.argv[1:5]
agents = [(int(a[0]), a[1]), (int(a[2]), a[3])]
count = lambda d: sum(1 for f in os.listdir(d) if f.endswith(".batch"))
first = [count(d) for _, d in agents]
most = list(first)
left = [None, None]
open(sys.argv[6], "w").close()  # counted: the service may start
end = time.monotonic() + float(sys.argv[5])
while None in left and time.monotonic() < end:
    for i, (pid, d) in enumerate(agents):
        if left[i] is None:
            n = count(d)
            most[i] = max(most[i], n)
            if 0 < n < most[i]:
                os.kill(pid, signal.SIGKILL)
                left[i] = n
    time.sleep(0.001)
for i in (0, 1):
    print("%d %s %d %d" % (i + 1, left[i] if left[i] is not None else "-", most[i], first[i]))
EOF
WPID=$!
j=0
while [ ! -e "$tmp/resend.ready" ] && [ $j -lt $((100 * SLOW)) ]; do
    sleep 0.1
    j=$((j + 1))
done
start_d
wait "$WPID"
for n in 1 2; do
    line=$(sed -n "s/^$n //p" "$tmp/resend.out")
    set -- $line - - - # batches left at the kill, the most seen, those at the start
    case $line in
    [0-9]*)
        eval "p=\$A$n"
        wait "$p" 2>/dev/null
        st=$?
        start_a $n
        [ "$st" = 137 ] && ok "agent $n: SIGKILL while re-sending ($1 of $2 batches left)" ||
            bad "agent $n: exit $st" ;;
    *)
        eval "k=\$n_a$n"
        bad "agent $n: never caught re-sending (spool: $3 batches at the start, at most $2)"
        tail -n 5 "$tmp/a.$n.$k.log" ;;
    esac
done

phase "settling"
t_settle=$(date +%s)
end=$(($(date +%s) + 60 * SLOW))
drained=0
while [ "$(date +%s)" -le "$end" ]; do
    if [ "$(batches "$tmp/spool1")" = 0 ] && [ "$(batches "$tmp/spool2")" = 0 ]; then
        drained=$((drained + 1))
        [ $drained -ge 3 ] && break
    else drained=0; fi
    sleep 1
done
[ $drained -ge 3 ] && ok "both spools drained in $(($(date +%s) - t_settle)) s (then empty for 3 s, the agents running)" ||
    bad "spools not drained: $(batches "$tmp/spool1") and $(batches "$tmp/spool2") batches left"
kill -TERM "$HPID"
wait "$HPID"
HPID=""
for n in 1 2; do
    eval "p=\$A$n"
    stop_pid "$p"
    eval "A$n=''"
    eval "k=\$n_a$n"
    lost=$(stat_of "$tmp/a.$n.$k.log" lost)
    dropped=$(stat_of "$tmp/a.$n.$k.log" dropped)
    [ "$st" = 0 ] && [ "$lost" = 0 ] && [ "$dropped" = 0 ] &&
        ok "agent $n: SIGTERM, exit 0, no result lost or dropped" ||
        bad "agent $n: exit $st lost '$lost' dropped '$dropped'"
done
stop_pid "$DPID"
DPID=""
[ "$st" = 0 ] && ok "ntspoold: SIGTERM, exit 0" || bad "ntspoold exit $st"
hstats=$(sed -n 's/^stats //p' "$tmp/hammer.marks")
cut=$(echo "$hstats" | jq .cut)
echo "hammer: $hstats"
[ "$(echo "$hstats" | jq .answered)" -gt 20 ] && [ "$cut" -ge 1 ] &&
    ok "hammer: $(echo "$hstats" | jq .answered) batches answered; $cut of its submits cut by a kill" ||
    bad "hammer: $hstats"

phase "the database"
ic=$(sqlite3 "$DB" "PRAGMA integrity_check")
[ "$ic" = ok ] && ok "PRAGMA integrity_check: ok" || bad "integrity_check: $ic"
qc=$(sqlite3 "$DB" "PRAGMA quick_check")
[ "$qc" = ok ] && ok "PRAGMA quick_check: ok" || bad "quick_check: $qc"
python3 - "$DB" "$tmp" <<'EOF' >"$tmp/acked.out"
import glob, re, sqlite3, sys
db, tmp = sys.argv[1:3]
c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
src = dict(c.execute("SELECT uuid, id FROM time_sources"))
mon = dict(c.execute("SELECT name, id FROM monitors"))
kinds = {"Srvv4": 0, "Ntsv4": 0, "Srvv6": 1, "Ntsv6": 1, "Poolv4": 2, "Poolv6": 3}
acked = {}
pat = re.compile(r"submit: acknowledged (\S+) (\S+) (\d+): (\S+)")
for n in (1, 2):
    for f in glob.glob("%s/a.%d.*.log" % (tmp, n)):
        for line in open(f, errors="replace"):
            m = pat.search(line)
            if m:
                acked.setdefault("remote-%d" % n, []).append(m.groups())
for line in open(tmp + "/hammer.acks"):
    acked.setdefault("hammer", []).append(tuple(line.split()))
bad = 0
for name, items in sorted(acked.items()):
    keys = set()
    for kind, uuid, t, status in items:
        if status in ("stored", "duplicate"):
            keys.add((src.get(uuid), kinds.get(kind), int(t)))
    stored = set(c.execute("SELECT source, kind, time FROM samples WHERE monitor = ?",
                           (mon[name],)))
    missing = keys - stored
    print("%s: %d acknowledged (%d answers), %d samples stored, %d acknowledged missing"
          % (name, len(keys), len(items), len(stored), len(missing)))
    for k in sorted(missing, key=str)[:5]:
        print("  missing: source %s kind %s time %s" % k)
    bad += len(missing) > 0 or len(keys) == 0
dups = c.execute("SELECT count(*) FROM (SELECT 1 FROM samples GROUP BY source, kind, monitor, "
                 "time HAVING count(*) > 1)").fetchone()[0]
print("duplicates: %d" % dups)
for name, counter, real in c.execute(
        "SELECT m.name, m.samples, (SELECT count(*) FROM samples s WHERE s.monitor = m.id) "
        "FROM monitors m ORDER BY m.id"):
    print("counter %s: %d, samples %d" % (name, counter, real))
    bad += counter != real
sys.exit(1 if bad or dups else 0)
EOF
st=$?
sed 's/^/      /' "$tmp/acked.out"
[ $st = 0 ] && ok "every acknowledged result is stored, once; each monitor's counter matches" ||
    bad "acknowledged results missing, duplicated or counters wrong"

phase "scores replayed from the stored samples"
dump_rows() { # DB
    sqlite3 -separator ' ' -nullvalue NULL "$1" \
        "SELECT 'S', source, kind, monitor, time, step, score, reason FROM samples ORDER BY source, kind, monitor, time;
         SELECT 'L', source, kind, monitor, time, interval, na, score, sample_time FROM scores;"
}
dump_rows "$DB" >"$tmp/rows"
"$REPLAY" "$(date +%s)" <"$tmp/rows" >"$tmp/replay.out"
st=$?
tail -n 1 "$tmp/replay.out" | sed 's/^/      /'
grep MISMATCH "$tmp/replay.out" | head -n 5
[ $st = 0 ] && ok "every stored score and latest score equals the replay of the steps" ||
    bad "score_replay: status $st"
# The replay must be able to fail: a copy without one scored sample in the
# middle of a series (a batch whose sample was lost but not its score), in a
# series without capped steps (kod_deny, offset_over_3s), where a cap could
# hide the difference.
cp "$DB" "$tmp/copy.db"
sqlite3 "$tmp/copy.db" "DELETE FROM samples WHERE id = (SELECT id FROM samples s WHERE score IS NOT NULL AND NOT EXISTS (SELECT 1 FROM samples t WHERE t.source = s.source AND t.kind = s.kind AND t.monitor = s.monitor AND t.reason IN (2, 8)) AND (SELECT count(*) FROM samples t WHERE t.source = s.source AND t.kind = s.kind AND t.monitor = s.monitor AND t.time > s.time) > 2 ORDER BY id LIMIT 1)"
dump_rows "$tmp/copy.db" | "$REPLAY" "$(date +%s)" >"$tmp/replay2.out"
[ $? = 1 ] && grep -q "MISMATCH sample score" "$tmp/replay2.out" &&
    ok "the replay sees a sample removed from a series" || bad "the replay missed a removed sample"
# The kinds' scores in the API: the lower median of the replayed scores of
# the fresh monitors, at the second the API answered.
write_conf no
start_d
matched=""
for try in 1 2 3 4 5; do
    t0=$(date +%s)
    api list GET /api/v1/time-sources
    t1=$(date +%s)
    [ "$t0" = "$t1" ] || continue
    dump_rows "$DB" | "$REPLAY" "$t0" | grep '^K ' >"$tmp/kinds"
    python3 - "$tmp/list.json" "$tmp/kinds" <<'EOF' >"$tmp/kinds.out"
import json, sys
lst = json.load(open(sys.argv[1]))["time_sources"]
want = {}
for line in open(sys.argv[2]):
    _, sid, kind, score, n = line.split()
    want[(int(sid), kind)] = (None if score == "null" else float(score), int(n))
bad = fresh2 = 0
for s in lst:
    for kind, k in s["kinds"].items():
        w = want.get((s["id"], kind), (None, 0))
        got = (k["score"], k["monitors"])
        same = (w[0] is None) == (got[0] is None) and w[1] == got[1] and \
            (w[0] is None or abs(w[0] - got[0]) < 1e-9)
        fresh2 += w[1] >= 2
        if not same:
            bad += 1
            print("source %d %s: API %s, replay %s" % (s["id"], kind, got, w))
print("%d kinds, %d with two or more fresh monitors, %d differ" % (len(want), fresh2, bad))
sys.exit(1 if bad or not want else 0)
EOF
    st=$?
    matched=yes
    break
done
sed 's/^/      /' "$tmp/kinds.out" 2>/dev/null
[ -n "$matched" ] && [ "$st" = 0 ] &&
    ok "each kind's score in the API is the lower median of the replayed fresh scores" ||
    bad "kind scores differ from the replay"
stop_pid "$DPID"
DPID=""
if grep -q "$(cat "$tmp/key1")" "$tmp"/a.*.log "$tmp"/d.*.log; then bad "a key was logged"; else
    ok "no key in any log"; fi
if grep -E "runtime error|LeakSanitizer|ERROR: AddressSanitizer" "$tmp"/*.log; then
    bad "sanitizer reports"; fi
finish
