#!/bin/sh
# System test: ntspoold end to end against the real test bed.  One service
# (built-in monitor, interval 2 s) on a loopback port of its own, driven
# through its JSON API with curl exactly as PRODUCT.md gives it:
#  - the administration commands while the service runs;
#  - every API error case (401, 400 invalid_host/invalid_port/bad_json,
#    404 for unknown ids and for another user's source, 405, 409, 413);
#  - the healthy chronyd: nts-v4 and nts-v6 samples within 10 s, both scores
#    above 10 after enough probes; its pool kinds fail (stock chrony has no
#    pool records), so it stays out of the pool with that reason;
#  - ntstestd with the source's token on 127.0.0.1 and ::1: all four kinds
#    above 10 and in_pool true; rekey -> token_rejected;
#  - the unsynchronised chronyd scores negative with reason unsynchronized;
#    a closed KE port gives ke_failed;
#  - delete stops probing; samples/scores filters; the NTP-pool-compatible
#    JSON and CSV; /metrics; /healthz;
#  - SIGHUP reload (good and bad file), SIGTERM while probing: exit 0 and
#    PRAGMA integrity_check ok.
. "$(dirname "$0")/lib.sh"

D=$BIN/ntspoold
SRV=$BUILD/tests/ntstestd
need_tools jq curl sqlite3 python3
[ -x "$D" ] || { echo "FAIL: $D missing"; exit 1; }
[ -x "$SRV" ] || { echo "FAIL: $SRV missing"; exit 1; }

DPID="" TPID=""
stop_at_exit DPID TPID

write_conf() { # interval level
    ntspoold_conf <<EOF
[monitor]
interval = $1
ke_timeout = 2
ntp_timeout = 0.5
ca_file = $TB_CA
allow_private = yes
clock_check = no
[log]
level = $2
EOF
}
write_conf 2 info

echo "== configuration errors"
"$D" -c "$tmp/none.conf" >"$tmp/c1.out" 2>&1
[ $? -eq 3 ] && grep -q "none.conf" "$tmp/c1.out" && ok "missing -c file: exit 3 naming it" ||
    bad "missing -c file: $(cat "$tmp/c1.out")"
printf '[monitor]\ninterval = 2\nintervall = 3\n' >"$tmp/bad.conf"
"$D" -c "$tmp/bad.conf" --check >"$tmp/c2.out" 2>&1
[ $? -eq 3 ] && grep -q "bad.conf:3" "$tmp/c2.out" && grep -q "intervall" "$tmp/c2.out" &&
    ok "--check: unknown key: exit 3 with file, line and key" || bad "--check: $(cat "$tmp/c2.out")"
"$D" -c "$CONF" --check >/dev/null 2>&1 && ok "--check: good file: exit 0" || bad "--check good file"

echo "== start"
ntspoold_start "$CONF" "$tmp/d.log" "$URL" || exit 1
ok "ntspoold listens"
TOKEN=""
api health GET /healthz "" ""
status_is health 200 "/healthz"
[ -f "$tmp/var/secret" ] && [ "$(stat -c %a "$tmp/var/secret")" = 600 ] &&
    ok "secret file created 0600" || bad "secret file mode"
[ "$(stat -c %a "$tmp/var")" = 700 ] && ok "var/ created 0700" || bad "var/ mode $(stat -c %a "$tmp/var")"

echo "== administration commands while running"
TOKEN=$("$D" -c "$CONF" user-add alice@example.org 2>"$tmp/ua.err")
echo "$TOKEN" | grep -Eq '^ntsp_[0-9a-f]{64}$' && ok "user-add prints one API token" ||
    bad "user-add: '$TOKEN' $(cat "$tmp/ua.err")"
TOKEN_B=$("$D" -c "$CONF" user-add bob@example.org --admin 2>/dev/null)
"$D" -c "$CONF" user-add alice@example.org >/dev/null 2>&1 && bad "user-add twice succeeded" ||
    ok "user-add of an existing account fails"
TOKEN_A2=$("$D" -c "$CONF" token-add alice@example.org laptop 2>/dev/null)
[ -n "$TOKEN_A2" ] && [ "$TOKEN_A2" != "$TOKEN" ] && ok "token-add prints another token" ||
    bad "token-add"
MKEY=$("$D" -c "$CONF" monitor-add remote-1 2>"$tmp/ma.err")
echo "$MKEY" | grep -Eq '^ntspm_[0-9a-f]{64}$' && ok "monitor-add prints a key" || bad "monitor-add: $MKEY"
if grep -q "$TOKEN\|$MKEY" "$tmp/ua.err" "$tmp/ma.err" "$tmp/d.log"; then bad "a secret was logged"
else ok "no secret in any log"; fi
n=$(sqlite3 "$tmp/var/ntspool.db" "SELECT count(*) FROM api_tokens WHERE hex(hash) LIKE '%$(echo "$TOKEN" | cut -c6-20 | tr a-f A-F)%'")
[ "$n" = 0 ] && ok "tokens are not stored in clear" || bad "token stored in clear"

echo "== API errors"
api e1 GET /api/v1/time-sources "" ""
error_is e1 401 unauthorized
api e2 GET /api/v1/time-sources "" "ntsp_0000"
error_is e2 401 unauthorized
api e3 POST /api/v1/time-sources '{"host": '
error_is e3 400 bad_json
api e4 POST /api/v1/time-sources '{"host": "192.0.2.1"}'
error_is e4 400 invalid_host
api e5 POST /api/v1/time-sources '{"host": "bad host.example"}'
error_is e5 400 invalid_host
api e6 POST /api/v1/time-sources '{"host": "-x.example"}'
error_is e6 400 invalid_host
api e7 POST /api/v1/time-sources '{"host": "ok.example", "port": 0}'
error_is e7 400 invalid_port
api e8 POST /api/v1/time-sources '{"host": "ok.example", "port": "4460"}'
error_is e8 400 invalid_port
api e9 POST /api/v1/time-sources '{"host": "ok.example", "port": 65536}'
error_is e9 400 invalid_port
api e10 POST /api/v1/time-sources '[1,2]'
error_is e10 400 bad_json
api e11 POST /api/v1/time-sources '{"host": "a.example", "host": "b.example"}'
error_is e11 400 bad_json
big=$(python3 -c 'print("{\"host\": \"" + "a" * 70000 + "\"}")')
api e12 POST /api/v1/time-sources "$big"
status_is e12 413 "body over 64 KiB"
api e13 PUT /api/v1/time-sources '{}'
error_is e13 405 method_not_allowed
api e14 GET /api/v1/time-sources/999999
error_is e14 404 not_found
api e15 GET /api/v1/time-sources/abc
error_is e15 404 not_found
api e16 GET /api/v1/nothing
error_is e16 404 not_found
api e17 POST /api/v1/time-sources "$(printf '{"host": "a\\u0000b.example"}')"
status_is e17 400 "NUL in a JSON string"
printf '{"host": "\377\376.example"}' >"$tmp/bad-utf8.json"
curl -s -o "$tmp/e18.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    --data-binary @"$tmp/bad-utf8.json" "$URL/api/v1/time-sources" >"$tmp/e18.rc"
status_is e18 400 "invalid UTF-8 in the body"
long=$(python3 -c 'print(".".join(["a" * 63] * 4) + ".example")')
api e19 POST /api/v1/time-sources "{\"host\": \"$long\"}"
error_is e19 400 invalid_host

echo "== the healthy chronyd"
t0=$(date +%s)
api add POST /api/v1/time-sources "{\"host\": \"localhost\", \"port\": $TB_SYNC_KE}"
status_is add 201 "add localhost:$TB_SYNC_KE"
expect add '.token | test("^[0-9a-f]{64}$")' true
expect add '[.host, .port, (.uuid | length), .in_pool, (.kinds | keys | join(","))] | @csv' \
    "\"localhost\",$TB_SYNC_KE,36,false,\"nts-v4,nts-v6,pool-v4,pool-v6\""
SYNC=$(jq -r .id "$tmp/add.json")
api dup POST /api/v1/time-sources "{\"host\": \"LOCALHOST.\", \"port\": $TB_SYNC_KE}"
error_is dup 409 duplicate
api list GET /api/v1/time-sources
expect list '[.time_sources[] | .id] | length' 1
expect list '.time_sources[0] | has("token")' false
if wait_for 10 '[.samples[] | .kind] | (index("nts-v4") != null and index("nts-v6") != null)' \
    "/api/v1/time-sources/$SYNC/samples"; then
    ok "nts-v4 and nts-v6 samples within $(($(date +%s) - t0)) s of adding"
else bad "no nts-v4 and nts-v6 samples within 10 s"; fi

echo "== ntstestd with the pool token, on 127.0.0.1 and ::1"
KP=$(free_port)
api addp POST /api/v1/time-sources "{\"host\": \"localhost\", \"port\": $KP}"
status_is addp 201 "add localhost:$KP"
POOL=$(jq -r .id "$tmp/addp.json")
PTOKEN=$(jq -r .token "$tmp/addp.json")
"$SRV" --cert "$TB_DIR/server.crt" --key "$TB_DIR/server.key" --listen 127.0.0.1 \
    --listen ::1 --ke-port "$KP" --token "$PTOKEN" 2>"$tmp/t.log" &
# shellcheck disable=SC2034 # stopped by name at exit (stop_at_exit)
TPID=$!

echo "== other sources: unsynchronised, closed KE port"
api addu POST /api/v1/time-sources "{\"host\": \"localhost\", \"port\": $TB_UNSYNC_KE}"
UNSYNC=$(jq -r .id "$tmp/addu.json")
api addc POST /api/v1/time-sources "{\"host\": \"localhost\", \"port\": $TB_CLOSED_PORT}"
CLOSED=$(jq -r .id "$tmp/addc.json")

echo "== another user sees none of it"
for sub in "" /samples /scores; do
    api o1 GET "/api/v1/time-sources/$SYNC$sub" "" "$TOKEN_B"
    error_is o1 404 not_found
done
api o2 DELETE "/api/v1/time-sources/$SYNC" "" "$TOKEN_B"
error_is o2 404 not_found
api o3 POST "/api/v1/time-sources/$SYNC/rekey" "" "$TOKEN_B"
error_is o3 404 not_found
api o4 GET /api/v1/time-sources "" "$TOKEN_B"
expect o4 '.time_sources | length' 0

echo "== scores rise"
if wait_for 60 '.kinds["nts-v4"].score > 10 and .kinds["nts-v6"].score > 10' \
    "/api/v1/time-sources/$SYNC"; then
    ok "chronyd: nts-v4 and nts-v6 above 10 after $(($(date +%s) - t0)) s"
else bad "chronyd: scores did not pass 10: $(jq -c .kinds "$tmp/wait.json")"; fi
api s GET "/api/v1/time-sources/$SYNC"
expect s '.in_pool' false
expect s '.kinds["pool-v4"].reason' ke_failed
expect s '.reason | test("pool-v4")' true
expect s '.kinds["nts-v4"].applicable and .kinds["nts-v4"].monitors == 1 and (.kinds["nts-v4"].last_probe > 0)' true
expect s '.cert_not_after > 0' true
if wait_for 60 '.in_pool == true and ([.kinds[] | .score > 10] | all)' \
    "/api/v1/time-sources/$POOL"; then
    ok "ntstestd with the token: all four kinds above 10, in the pool"
else bad "ntstestd: $(jq -c '{in_pool, reason, kinds}' "$tmp/wait.json")"; fi
expect wait '.codepoints' permanent
api u GET "/api/v1/time-sources/$UNSYNC"
expect u '.kinds["nts-v4"].score < 0' true
expect u '.kinds["nts-v4"].reason' unsynchronized
api c GET "/api/v1/time-sources/$CLOSED"
expect c '.kinds["nts-v4"].score < 0' true
expect c '.kinds["nts-v4"].reason' ke_failed
api cs GET "/api/v1/time-sources/$CLOSED/samples?kind=nts-v4&limit=1"
expect cs '.samples[0].probe.ke.status' connect_refused

echo "== samples and scores"
api sm GET "/api/v1/time-sources/$SYNC/samples?kind=nts-v6&limit=3"
status_is sm 200
expect sm '.samples | length' 3
expect sm '[.samples[] | .kind] | unique | join(",")' nts-v6
expect sm '.samples[0] | [has("time"), .monitor, has("monitor_id"), .address, .reason, (.step|type), (.score|type)] | @csv' \
    'true,"builtin",true,"::1","ok","number","number"'
expect sm '.samples[0].probe.ntp | length' 2
expect sm '.samples[0].time >= .samples[1].time' true
api sc GET "/api/v1/time-sources/$SYNC/scores?monitor=builtin&limit=5"
expect sc '.scores | length' 5
expect sc '.scores[0] | keys | join(",")' 'kind,monitor,score,step,time'
api bad1 GET "/api/v1/time-sources/$SYNC/samples?kind=ntp"
error_is bad1 400 bad_parameter
api bad2 GET "/api/v1/time-sources/$SYNC/samples?limit=0"
error_is bad2 400 bad_parameter
api bad3 GET "/api/v1/time-sources/$SYNC/samples?monitor=nobody"
error_is bad3 400 bad_parameter
expect bad3 '.error.message' 'unknown monitor: no monitor is named "nobody"'
api bad4 GET "/api/v1/time-sources/$SYNC/samples?monitor=424242"
error_is bad4 400 bad_parameter
expect bad4 '.error.message' 'unknown monitor: no monitor has id 424242'
MID=$(jq -r '.samples[0].monitor_id' "$tmp/sm.json")
api byid GET "/api/v1/time-sources/$SYNC/scores?monitor=$MID&limit=2"
expect byid '[.scores[].monitor] | unique | join(",")' builtin
api cap GET "/api/v1/time-sources/$SYNC/samples?limit=5000"
status_is cap 200 "limit over 1000 is capped"

echo "== NTP-pool-compatible history"
api cj GET "/scores/localhost:$TB_SYNC_KE/json?monitor=*&limit=4" "" ""
status_is cj 200
expect cj '.history | length' 4
expect cj '.history[0] | keys | join(",")' 'kind,monitor_id,offset,rtt,score,step,ts'
expect cj '.monitors[0] | [.name, .type] | @csv' '"builtin","monitor"'
expect cj '.server.host' localhost
UUID=$(jq -r .uuid "$tmp/add.json")
api cu GET "/scores/$UUID/json?limit=1" "" ""
expect cu '.server.id' "$SYNC"
curl -s "$URL/scores/localhost:$TB_SYNC_KE/log?limit=3" >"$tmp/log.csv"
[ "$(head -n 1 "$tmp/log.csv")" = "ts_epoch,ts,offset,step,score,monitor_id,monitor_name,rtt,leap,error" ] &&
    ok "CSV header" || bad "CSV header: $(head -n 1 "$tmp/log.csv")"
[ "$(wc -l <"$tmp/log.csv")" -eq 4 ] && ok "CSV rows" || bad "CSV rows: $(wc -l <"$tmp/log.csv")"
api cm GET "/scores/localhost:$TB_SYNC_KE/json?monitor=424242" "" ""
error_is cm 400 bad_parameter
expect cm '.error.message' 'unknown monitor: no monitor has id 424242'
api cb GET "/scores/localhost:$TB_SYNC_KE/json?monitor=builtin&limit=2" "" ""
expect cb "[.history[].monitor_id] | unique | join(\",\")" "$MID"
api cn GET "/scores/nothing.example/json" "" ""
error_is cn 404 not_found

echo "== rekey: the old token is refused"
api rk POST "/api/v1/time-sources/$POOL/rekey"
status_is rk 200
expect rk '.token | test("^[0-9a-f]{64}$")' true
[ "$(jq -r .token "$tmp/rk.json")" != "$PTOKEN" ] && ok "rekey gives a new token" || bad "same token"
if wait_for 20 '[.samples[] | select(.kind == "pool-v4") | .probe.ke.status] | index("token_rejected") != null' \
    "/api/v1/time-sources/$POOL/samples?limit=20"; then ok "after rekey: token_rejected"
else bad "no token_rejected after rekey"; fi

echo "== delete stops probing"
api del DELETE "/api/v1/time-sources/$CLOSED"
status_is del 204
api del2 GET "/api/v1/time-sources/$CLOSED"
error_is del2 404 not_found
n1=$(sqlite3 "$tmp/var/ntspool.db" "SELECT count(*) FROM samples WHERE source = $CLOSED")
sleep 5
n2=$(sqlite3 "$tmp/var/ntspool.db" "SELECT count(*) FROM samples WHERE source = $CLOSED")
[ "$n1" = "$n2" ] && ok "no sample of the deleted source in 5 s ($n1)" || bad "deleted source still probed ($n1 -> $n2)"

echo "== metrics"
curl -s "$URL/metrics" >"$tmp/metrics.txt"
for m in 'ntspool_probes_total{kind="nts-v4",reason="ok",monitor="builtin"}' ntspool_probe_duration_seconds_bucket \
    ntspool_probes_in_flight ntspool_scheduler_lag_seconds_count ntspool_samples_stored_total \
    'ntspool_http_requests_total{route="/api/v1/time-sources/{id}",status="200"}' \
    'ntspool_db_size_bytes{file="main"}'; do
    grep -qF "$m" "$tmp/metrics.txt" && ok "metrics: $m" || bad "metrics: $m missing"
done

echo "== SIGHUP"
write_conf 3 debug
kill -HUP $DPID
sleep 1
grep -q "reloaded" "$tmp/d.log" && ok "SIGHUP: reloaded" || bad "SIGHUP: no reload logged"
printf '[monitor]\ninterval = zero\n' >"$CONF"
kill -HUP $DPID
sleep 1
grep -q "keeping the running configuration" "$tmp/d.log" && kill -0 $DPID &&
    ok "SIGHUP with a bad file: logged, still running" || bad "SIGHUP bad file"
api h2 GET /healthz "" ""
status_is h2 200 "/healthz after reloads"

echo "== SIGTERM while probing"
kill -TERM $DPID
t=0
while kill -0 $DPID 2>/dev/null && [ $t -lt 50 ]; do sleep 0.1; t=$((t + 1)); done
if kill -0 $DPID 2>/dev/null; then bad "still running 5 s after SIGTERM"; wait $DPID; else
    wait $DPID
    st=$?
    [ $st -eq 0 ] && ok "SIGTERM: exit 0 in $((t * 100)) ms" || { bad "SIGTERM: exit $st"; tail -n 20 "$tmp/d.log"; }
fi
DPID=""
[ "$(sqlite3 "$tmp/var/ntspool.db" 'PRAGMA integrity_check')" = ok ] && ok "integrity_check ok" ||
    bad "integrity_check"
grep -E "ERROR|runtime error|LeakSanitizer" "$tmp/d.log" | head -n 5
finish
