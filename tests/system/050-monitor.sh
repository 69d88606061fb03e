#!/bin/sh
# System test: the monitor API and ntspool-monitor against the real test bed.
#  - ntspoold with [monitor] builtin = no; get_work and submit with monitor
#    keys (401 for a wrong one); the fixture submit in the existing shape is
#    stored, a resubmit is a duplicate, items for an unknown uuid, a deleted
#    source, an Ipv4 kind or with a wild offset are refused per item while
#    the others of the batch are stored;
#  - two ntspool-monitor agents on loopback: both monitors' samples arrive,
#    and each kind's score is the lower median of theirs;
#  - the service stopped for 30 s and restarted: every probe an agent made is
#    stored exactly once (its stats line against the database);
#  - a stand-in of the existing pool's management API (python3, HTTPS with the
#    test CA) serving the fixture get_work (Ipv4 through ntstestd as pool KE,
#    Srvv4, an unknown kind): the agent probes and submits in those shapes;
#    with submits failing, a full spool drops the oldest and counts them;
#    SIGHUP reloads the agent's configuration (a bad file is kept out, a new
#    key is used at once, a new url waits for a restart).
. "$(dirname "$0")/lib.sh"

D=$BIN/ntspoold
M=$BIN/ntspool-monitor
SRV=$BUILD/tests/ntstestd
FX=$top/tests/data/monitor-api
need_tools jq curl sqlite3 python3
for x in "$D" "$M" "$SRV"; do [ -x "$x" ] || { echo "FAIL: $x missing"; exit 1; }; done

DPID="" A1="" A2="" A3="" SPID="" TPID=""
stop_at_exit A1 A2 A3 SPID TPID DPID

# my_port: a free loopback port in 16500-16999 (outside the ranges other
# work uses: see README "Test bed").
my_port() {
    python3 -c 'import socket, random
for p in random.sample(range(16500, 17000), 500):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", p)); u.close()
        print(p); break
    except OSError:
        s.close()'
}

PORT=$(my_port)
DB=$tmp/var/ntspool.db
ntspoold_conf <<EOF
[monitor]
builtin = no
interval = 3
ke_timeout = 2
ntp_timeout = 0.5
allow_private = yes
clock_check = no
EOF

echo "== service without built-in monitor"
ntspoold_start "$CONF" "$tmp/d.log" "$URL" || exit 1
TOKEN=$("$D" -c "$CONF" user-add ops@example.org 2>/dev/null)
for n in 1 2 3; do "$D" -c "$CONF" monitor-add "remote-$n" >"$tmp/key$n" 2>/dev/null; done
K1=$(cat "$tmp/key1") K2=$(cat "$tmp/key2") K3=$(cat "$tmp/key3")
api add POST /api/v1/time-sources "{\"host\": \"localhost\", \"port\": $TB_SYNC_KE}"
status_is add 201 "add localhost:$TB_SYNC_KE"
SYNC=$(jq -r .id "$tmp/add.json") SUUID=$(jq -r .uuid "$tmp/add.json")
api addf POST /api/v1/time-sources '{"host": "fixture.invalid"}'
FID=$(jq -r .id "$tmp/addf.json") FUUID=$(jq -r .uuid "$tmp/addf.json")
api addg POST /api/v1/time-sources '{"host": "gone.invalid"}'
GID=$(jq -r .id "$tmp/addg.json") GUUID=$(jq -r .uuid "$tmp/addg.json")
api delg DELETE "/api/v1/time-sources/$GID"
status_is delg 204 "delete a source"

echo "== get_work"
api w0 GET /monitoring/get_work "" ""
error_is w0 401 unauthorized
api w1 GET /monitoring/get_work "" "ntspm_0000"
error_is w1 401 unauthorized
api w2 GET /monitoring/get_work "" "$TOKEN"
error_is w2 401 unauthorized
api w GET /monitoring/get_work "" "$K1"
status_is w 200 "get_work with a monitor key"
expect w "[.timesources[] | select(.[1].uuid == \"$SUUID\") | .[0]] | sort | join(\",\")" \
    "Poolv4,Poolv6,Srvv4,Srvv6"
expect w "[.timesources[] | select(.[0] == \"Poolv4\" and .[1].uuid == \"$SUUID\") | .[1].token | test(\"^[0-9a-f]{64}\$\")] | all" true
expect w "[.timesources[] | select(.[1].uuid == \"$GUUID\")] | length" 0
expect w '[.result_endpoint, .result_batchsize, .probe_interval.secs, .update_interval.secs, .result_max_waittime.secs, .nts_timeout.secs, .ntp_timeout.nanos, .poolke] | @csv' \
    "\"$URL/monitoring/submit\",10,3,300,60,2,500000000,"

echo "== get_work follows the sources (the rendered list is cached)"
api w3 GET /monitoring/get_work "" "$K1"
cmp -s "$tmp/w.json" "$tmp/w3.json" && ok "get_work again: the same list" || bad "get_work changed by itself"
tok_of() { jq -r "[.timesources[] | select(.[0] == \"Poolv4\" and .[1].uuid == \"$SUUID\") | .[1].token] | .[0]" "$tmp/$1.json"; }
api rk POST "/api/v1/time-sources/$SYNC/rekey"
status_is rk 200 "rekey"
api w4 GET /monitoring/get_work "" "$K1"
[ "$(tok_of w4)" = "$(jq -r .token "$tmp/rk.json")" ] && [ "$(tok_of w4)" != "$(tok_of w3)" ] &&
    ok "after a rekey: the new token" || bad "token after rekey: $(tok_of w4)"
api addn POST /api/v1/time-sources '{"host": "new.invalid"}'
NUUID=$(jq -r .uuid "$tmp/addn.json") NID=$(jq -r .id "$tmp/addn.json")
api w5 GET /monitoring/get_work "" "$K1"
expect w5 "[.timesources[] | select(.[1].uuid == \"$NUUID\")] | length" 4
api deln DELETE "/api/v1/time-sources/$NID"
api w6 GET /monitoring/get_work "" "$K1"
expect w6 "[.timesources[] | select(.[1].uuid == \"$NUUID\")] | length" 0
api w7 GET /monitoring/get_work "" "$K2"
expect w7 '.timesources | length' "$(jq '.timesources | length' "$tmp/w6.json")"

echo "== submit: the fixture in the existing shape, per-item refusals"
NOW=$(date +%s)
fill() { sed -e "s/@UUID@/$2/g" -e "s/@START@/$3/g" "$FX/submit-existing.json" >"$tmp/fx-$1"; }
fill s1.json "$FUUID" "$NOW"
api s1 POST /monitoring/submit "$(cat "$tmp/fx-s1.json")" "$K3"
status_is s1 200 "fixture submit"
expect s1 '[.stored, .duplicate, .refused, .results[0].status] | @csv' '1,0,0,"stored"'
api s2 POST /monitoring/submit "$(cat "$tmp/fx-s1.json")" "$K3"
expect s2 '[.stored, .duplicate, .results[0].status] | @csv' '0,1,"duplicate"'
one=$(jq -c '.[0][1]' "$tmp/fx-s1.json")
bad_off=$(echo "$one" | jq -c '.ntp_with_ke_cookie.offset = 2e6')
batch="[[[\"Srvv6\",\"$FUUID\"],$one],[[\"Srvv4\",\"00000000-0000-4000-8000-000000000000\"],$one],[[\"Srvv4\",\"$GUUID\"],$one],[[\"Ipv4\",\"$FUUID\"],$one],[[\"Srvv4\",\"$FUUID\"],$bad_off],[[\"Nope\",\"$FUUID\"],$one],[[\"Ntsv4\",\"$FUUID\"],$(echo "$one" | jq -c ".keyexchange.exchange_start = $((NOW - 1))")]]"
api s3 POST /monitoring/submit "$batch" "$K3"
status_is s3 200 "mixed batch"
expect s3 '[.results[] | .status + ":" + (.reason // "")] | join(",")' \
    "stored:,refused:unknown_source,refused:unknown_source,refused:not_assigned,refused:bad_value,refused:bad_kind,stored:"
expect s3 '[.stored, .refused] | @csv' '2,5'
api s4 POST /monitoring/submit '{"not": "an array"}' "$K3"
error_is s4 400 bad_json
api s5 POST /monitoring/submit "$batch" "wrong"
error_is s5 401 unauthorized
printf '%s' "$batch" >"$tmp/batch.json"
big=$(python3 -c "import json,sys; e=json.load(open(sys.argv[1])); print(json.dumps([e[0]]*150))" "$tmp/batch.json")
[ "${#big}" -gt 65536 ] && ok "a batch of 150 is over 64 KiB (${#big} bytes)" || bad "batch size ${#big}"
api s6 POST /monitoring/submit "$big" "$K3"
status_is s6 200 "a submit over 64 KiB is accepted"
n=$(sqlite3 "$DB" "SELECT count(*) FROM samples s JOIN monitors m ON m.id = s.monitor WHERE m.name = 'remote-3'")
[ "$n" = 3 ] && ok "remote-3 has 3 samples stored (no duplicates)" || bad "remote-3 samples: $n"
curl -s "$URL/metrics" >"$tmp/metrics.txt"
n=$(awk '/^ntspool_probes_total\{.*monitor="remote"\}/ { s += $2 } END { print s + 0 }' "$tmp/metrics.txt")
[ "$n" = 3 ] && ok "metrics: the 3 stored remote results in ntspool_probes_total{monitor=\"remote\"}" ||
    { bad "metrics: $n remote probes counted"; grep probes_total "$tmp/metrics.txt"; }
grep -q '^ntspool_probes_total{kind="nts-v6",reason="ok",monitor="remote"} 1$' "$tmp/metrics.txt" &&
    ok "metrics: by kind and reason" || bad "metrics: no nts-v6 ok remote"

echo "== two agents"
for n in 1 2; do agent_conf "$n" info; done
agent_start a1 "$tmp/m1.conf"; A1=$APID
agent_start a2 "$tmp/m2.conf"; A2=$APID
q_mon="SELECT count(DISTINCT m.name) FROM samples s JOIN monitors m ON m.id = s.monitor WHERE s.source = $SYNC AND m.name IN ('remote-1', 'remote-2')"
end=$(($(date +%s) + 30))
while [ "$(sqlite3 "$DB" "$q_mon")" != 2 ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.5; done
[ "$(sqlite3 "$DB" "$q_mon")" = 2 ] && ok "both agents' samples arrive" ||
    { bad "samples of both agents: $(sqlite3 "$DB" "$q_mon")"; tail -n 5 "$tmp/a1.log"; }
sleep 12
echo "== the service stops for 30 s"
stop_pid "$DPID"
[ "$st" = 0 ] && ok "ntspoold stopped" || bad "ntspoold exit $st"
DPID=""
sleep 30
ntspoold_start "$CONF" "$tmp/d2.log" "$URL" || exit 1
ok "ntspoold restarted"
if wait_log 60 "$tmp/a1.log" "delivering again" && wait_log 60 "$tmp/a2.log" "delivering again"; then
    ok "both agents deliver again"
else bad "no 'delivering again'"; tail -n 5 "$tmp/a1.log"; fi
sleep 8
for n in 1 2; do
    eval "pid=\$A$n"
    stop_pid "$pid"
    [ "$st" = 0 ] && ok "agent $n: SIGTERM, exit 0" || bad "agent $n: exit $st"
done
# shellcheck disable=SC2034 # stopped by name at exit (stop_at_exit)
A1="" A2=""
api s GET "/api/v1/time-sources/$SYNC"
for n in 1 2; do
    made=$(stat_of "$tmp/a$n.log" samples)
    spooled=$(stat_of "$tmp/a$n.log" spooled)
    lost=$(stat_of "$tmp/a$n.log" lost)
    stored=$(sqlite3 "$DB" "SELECT count(*) FROM samples s JOIN monitors m ON m.id = s.monitor WHERE m.name = 'remote-$n'")
    grep -q "submit: .*keeping the results" "$tmp/a$n.log" && ok "agent $n: kept results during the outage" ||
        bad "agent $n: no outage seen"
    # A batch in flight at SIGTERM may be both stored by the service and
    # spooled by the agent (its answer never arrived): its resubmission is a
    # duplicate the service ignores.  So: nothing stored twice (stored <=
    # made), nothing lost (stored + spooled >= made).
    [ -n "$made" ] && [ "$made" -gt 20 ] && [ "$lost" = 0 ] && [ "$stored" -le "$made" ] &&
        [ $((stored + spooled)) -ge "$made" ] &&
        ok "agent $n: $made probes made, $stored stored + $spooled spooled at exit: none lost or doubled" ||
        bad "agent $n: made '$made' stored $stored spooled '$spooled' lost '$lost'"
done
for k in 0 1; do
    ks=$( [ $k = 0 ] && echo nts-v4 || echo nts-v6)
    want=$(sqlite3 "$DB" "SELECT score FROM scores s JOIN monitors m ON m.id = s.monitor WHERE s.source = $SYNC AND s.kind = $k AND m.name IN ('remote-1','remote-2') ORDER BY score LIMIT 1")
    got=$(jq -r ".kinds[\"$ks\"].score" "$tmp/s.json")
    mons=$(jq -r ".kinds[\"$ks\"].monitors" "$tmp/s.json")
    python3 -c "import sys; sys.exit(0 if abs(float('$got') - float('$want')) < 1e-9 else 1)" 2>/dev/null &&
        [ "$mons" = 2 ] && ok "$ks: score $got = lower median of the two monitors" ||
        bad "$ks: score '$got' monitors '$mons', want lower median '$want'"
done

echo "== wrong URL scheme, missing key"
printf '[monitor]\nurl = http://192.0.2.1:1\nkey_file = %s\nspool = %s\n' "$tmp/key1" "$tmp/sp" >"$tmp/bad.conf"
"$M" -c "$tmp/bad.conf" >/dev/null 2>"$tmp/bad.log"
[ $? = 3 ] && grep -q loopback "$tmp/bad.log" && ok "plain http to a non-loopback host: exit 3" ||
    bad "non-loopback http: $(cat "$tmp/bad.log")"

echo "== a stand-in of the existing pool (HTTPS), poolke = ntstestd"
SP=$(my_port) KP=$(my_port)
PUUID=$(python3 -c 'import uuid; print(uuid.uuid4())')
"$SRV" --cert "$TB_DIR/server.crt" --key "$TB_DIR/server.key" --listen 127.0.0.1 \
    --ke-port "$KP" --monitor-key "$K1" --uuid "$PUUID" 2>"$tmp/t.log" &
# shellcheck disable=SC2034 # stopped by name at exit (stop_at_exit)
TPID=$!
sed -e "s/@UUID@/$PUUID/g" -e "s/@KE_PORT@/$TB_SYNC_KE/g" -e "s/@POOLKE@/localhost:$KP/" \
    -e "s#@ENDPOINT@#https://localhost:$SP/monitoring/submit#" "$FX/get_work-existing.json" >"$tmp/work.json"
cat >"$tmp/standin.py" <<'EOF'
import http.server, json, ssl, sys
port, work, rec, cert, key, mode, token = sys.argv[1:8]
class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body=b""):
        self.send_response(code); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer " + token: return self.reply(401)
        self.reply(200, open(work, "rb").read())
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if mode == "fail": return self.reply(503)
        with open(rec, "a") as f: f.write(json.dumps(json.loads(body)) + "\n")
        self.reply(200)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", int(port)), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(cert, key)
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()
EOF
python3 "$tmp/standin.py" "$SP" "$tmp/work.json" "$tmp/rec.jsonl" "$TB_DIR/server.crt" \
    "$TB_DIR/server.key" ok "$K1" 2>"$tmp/standin.log" &
SPID=$!
cat >"$tmp/m3.conf" <<EOF
[monitor]
url = https://localhost:$SP
key_file = $tmp/key1
service_ca_file = $TB_CA
probe_ca_file = $TB_CA
spool = $tmp/spool3
allow_private = yes
clock_check = no
[log]
level = info
EOF
sleep 0.5
agent_start a3 "$tmp/m3.conf"; A3=$APID
end=$(($(date +%s) + 30))
until [ -s "$tmp/rec.jsonl" ] && jq -s -e '[.[][] | .[0][0]] | (index("Ipv4") != null and index("Srvv4") != null)' "$tmp/rec.jsonl" >/dev/null 2>&1; do
    [ "$(date +%s)" -gt "$end" ] && break
    sleep 0.5
done
if [ -s "$tmp/rec.jsonl" ]; then
    jq -s '[.[][]]' "$tmp/rec.jsonl" >"$tmp/rec.json"
    expect rec '[.[] | .[0][0]] | unique | join(",")' "Ipv4,Srvv4"
    expect rec "[.[] | .[0][1] == \"$PUUID\"] | all" true
    expect rec '[.[] | select(.[0][0] == "Srvv4") | .[1].keyexchange.status] | unique | join(",")' Success
    expect rec '[.[] | select(.[0][0] == "Ipv4") | .[1].keyexchange.status] | unique | join(",")' Success
    expect rec '[.[] | .[1] | (.keyexchange | has("exchange_start") and has("exchange_duration") and has("num_cookies") and has("description")) and (.ntp_with_ke_cookie | has("roundtrip_duration") and has("remote_residence_time") and has("leap_indicates_synchronized") and has("received_cookies"))] | all' true
    expect rec '[.[] | .[1].ntp_with_ntp_cookie.status] | unique | join(",")' Success
else bad "the stand-in recorded no submit"; tail -n 5 "$tmp/a3.log"; fi
grep -q "kind Foov4 is unknown" "$tmp/a3.log" && [ "$(grep -c 'Foov4' "$tmp/a3.log")" = 1 ] &&
    ok "unknown kind logged once" || bad "unknown kind not logged once"
echo "== SIGHUP: the agent reloads its configuration"
cp "$tmp/m3.conf" "$tmp/m3.good"
printf '[monitor]\nintervall = 3\n' >"$tmp/m3.conf"
kill -HUP "$A3"
wait_log 10 "$tmp/a3.log" "reload: .*unknown key.*keeping the running configuration" &&
    kill -0 "$A3" 2>/dev/null && ok "a bad file: reported, the running one kept" ||
    bad "bad file on SIGHUP: $(grep reload "$tmp/a3.log" | tail -n 1)"
# A new key is used at once (the stand-in knows only key1: 401); a new url
# needs a restart.
sed -e "s#key_file = .*#key_file = $tmp/key3#" -e "s#url = .*#url = https://localhost:1#" \
    "$tmp/m3.good" >"$tmp/m3.conf"
kill -HUP "$A3"
wait_log 10 "$tmp/a3.log" "a new key: fetching the work list" &&
    ok "SIGHUP: reloaded with the new key" || bad "no reload: $(grep reload "$tmp/a3.log" | tail -n 2)"
grep -q "reload: \[monitor\] url, .* only after a restart" "$tmp/a3.log" &&
    ok "a new url: needs a restart, said" || bad "url change not reported"
# 401 comes from the stand-in at the old url (port 1 would refuse).
wait_log 10 "$tmp/a3.log" "HTTP 401 (the monitor key is not accepted)" &&
    ok "the new key is sent, to the old url (401 from the stand-in)" ||
    bad "the new key was not used"
cp "$tmp/m3.good" "$tmp/m3.conf"
stop_pid "$A3"; A3=""
[ "$st" = 0 ] && ok "agent against the stand-in: exit 0" || bad "exit $st"
kill "$SPID"; wait "$SPID" 2>/dev/null

echo "== submits failing: a full spool drops the oldest, counted"
sed -i -e 's/"result_batchsize": 10/"result_batchsize": 1/' "$tmp/work.json"
python3 "$tmp/standin.py" "$SP" "$tmp/work.json" "$tmp/rec2.jsonl" "$TB_DIR/server.crt" \
    "$TB_DIR/server.key" fail "$K1" 2>"$tmp/standin2.log" &
SPID=$!
sed -e "s#spool = .*#spool = $tmp/spool4\nspool_max = 3#" "$tmp/m3.conf" >"$tmp/m4.conf"
sleep 0.5
agent_start a4 "$tmp/m4.conf"; A3=$APID
wait_log 30 "$tmp/a4.log" "spool: full" && ok "spool full: logged" || bad "no 'spool: full'"
sleep 2
stop_pid "$A3"; A3=""
dropped=$(stat_of "$tmp/a4.log" dropped)
spooled=$(stat_of "$tmp/a4.log" spooled)
made=$(stat_of "$tmp/a4.log" results)
files=$(ls "$tmp/spool4" | grep -c '\.batch$')
[ "$st" = 0 ] && [ -n "$dropped" ] && [ "$dropped" -gt 0 ] && [ "$spooled" -le 3 ] &&
    [ "$files" -le 3 ] && [ $((dropped + spooled)) -eq "$made" ] &&
    ok "spool_max 3: $made results, $dropped oldest dropped and counted, $spooled kept in $files files" ||
    bad "spool: made '$made' dropped '$dropped' spooled '$spooled' files $files exit $st"
oldest=$(ls "$tmp/spool4" | grep '\.batch$' | head -n 1 | cut -c1-20)
[ "$(expr "$oldest" + 0)" -ge "$dropped" ] && ok "the kept batches are the newest" || bad "oldest kept $oldest"
[ "$(stat -c %a "$tmp/spool4")" = 700 ] && ok "spool directory 0700" || bad "spool mode"
if grep -q "$K1" "$tmp"/a*.log "$tmp/d.log" "$tmp/d2.log"; then bad "a key was logged"; else ok "no key in any log"; fi
grep -E "runtime error|LeakSanitizer|ERROR: AddressSanitizer" "$tmp"/*.log | head -n 5
finish
