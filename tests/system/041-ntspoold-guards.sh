#!/bin/sh
# System test: what ntspoold guards against, and settings changed by SIGHUP.
#  - the clock self-check (SCORING.md rule 1): with clock_check = yes, a host
#    clock the kernel calls unsynchronised (machines here run no time daemon)
#    makes /healthz 503 with the reason, and every sample is stored as
#    monitor_fault without moving a score; the test reads the kernel's state
#    itself (ntp_adjtime) and expects the matching behaviour;
#  - allow_private = no refuses a name that resolves only to loopback;
#  - the per-token rate limit answers 429 with Retry-After;
#  - after SIGHUP (allow_private = yes, rate_limit = 0, clock_check = no):
#    code point auto-detection against ntstestd that understands only the
#    experimental pool records (remembered, shown in the API), the pool kinds
#    then scoring ok, /healthz 200.
. "$(dirname "$0")/lib.sh"

D=$BIN/ntspoold
SRV=$BUILD/tests/ntstestd
need_tools jq curl python3 unshare
DPID="" TPID=""
stop_at_exit DPID TPID

write_conf() { # clock_check allow_private rate_limit
    ntspoold_conf <<EOF
[http]
rate_limit = $3
[monitor]
interval = 1
ke_timeout = 2
ntp_timeout = 0.5
ca_file = $TB_CA
allow_private = $2
clock_check = $1
[log]
level = info
EOF
}

# The kernel's view of this host's clock: 1 when ntp_adjtime says TIME_ERROR
# (unsynchronised), else 0.
unsync=$(python3 -c 'import ctypes
buf = ctypes.create_string_buffer(512)
print(1 if ctypes.CDLL(None).ntp_adjtime(buf) == 5 else 0)')
echo "kernel clock unsynchronised: $unsync"

write_conf yes no 1
ntspoold_start "$CONF" "$tmp/d.log" "$URL" || exit 1
TOKEN=$("$D" -c "$CONF" user-add carol@example.org 2>/dev/null)

echo "== clock self-check (clock_check = yes)"
curl -s -o "$tmp/h.txt" -w '%{http_code}' "$URL/healthz" >"$tmp/h.rc"
if [ "$unsync" = 1 ]; then
    [ "$(cat "$tmp/h.rc")" = 503 ] && grep -q "^clock: host clock unsynchronised" "$tmp/h.txt" &&
        ok "/healthz 503 with the clock reason" || bad "/healthz: $(cat "$tmp/h.rc") $(cat "$tmp/h.txt")"
    grep -q "ntspool_monitor_healthy 0" "$(curl -s "$URL/metrics" >"$tmp/m.txt"; echo "$tmp/m.txt")" &&
        ok "metrics: ntspool_monitor_healthy 0" || bad "metrics: healthy gauge"
else
    [ "$(cat "$tmp/h.rc")" = 200 ] && ok "/healthz 200 (the clock is synchronised)" || bad "/healthz"
fi

echo "== allow_private = no"
api priv POST /api/v1/time-sources '{"host": "localhost", "port": 4460}'
status_is priv 400 "a name resolving only to loopback"
expect priv '.error.code' invalid_host

echo "== rate limit (1 request/s, bursts of 4)"
# 20 requests at once; the bucket lets 4 + (elapsed seconds) through, so at
# least 20 - 4 - elapsed - 1 must be refused however slow this machine is.
t0=$(date +%s)
set --
i=0
while [ $i -lt 20 ]; do set -- "$@" -o /dev/null "$URL/api/v1/time-sources"; i=$((i + 1)); done
curl -s --parallel --parallel-max 20 -H "Authorization: Bearer $TOKEN" -w '%{http_code}\n' "$@" \
    >"$tmp/rl.codes" 2>/dev/null
elapsed=$(($(date +%s) - t0 + 1))
n429=$(grep -c '^429$' "$tmp/rl.codes")
n200=$(grep -c '^200$' "$tmp/rl.codes")
want=$((20 - 4 - elapsed - 1))
[ $n429 -ge $want ] && [ $((n429 + n200)) -eq 20 ] &&
    ok "$n429 of 20 requests at once refused with 429 (at least $want expected)" ||
    bad "$n429 of 20 were 429, $n200 were 200 (want at least $want 429s)"
i=0
while [ $i -lt 10 ]; do
    api rl GET /api/v1/time-sources
    [ "$(cat "$tmp/rl.rc")" = 429 ] && break
    i=$((i + 1))
done
status_is rl 429 "a request right after the burst"
grep -qi '^Retry-After: 1' "$tmp/rl.hdr" && ok "429 carries Retry-After" || bad "no Retry-After"
expect rl '.error.code' rate_limited

echo "== SIGHUP: allow_private = yes, no rate limit; the clock check still on"
write_conf yes yes 0
kill -HUP $DPID
sleep 1
KP=$(free_port)
api add POST /api/v1/time-sources "{\"host\": \"localhost\", \"port\": $KP}"
status_is add 201 "add localhost:$KP after the reload"
SRC=$(jq -r .id "$tmp/add.json")
PTOKEN=$(jq -r .token "$tmp/add.json")
"$SRV" --cert "$TB_DIR/server.crt" --key "$TB_DIR/server.key" --listen 127.0.0.1 \
    --listen ::1 --ke-port "$KP" --token "$PTOKEN" --codepoints experimental 2>"$tmp/t.log" &
# shellcheck disable=SC2034 # stopped by name at exit (stop_at_exit)
TPID=$!
if [ "$unsync" = 1 ]; then
    if wait_for 15 '[.samples[] | select(.kind == "nts-v4")] | length >= 3' \
        "/api/v1/time-sources/$SRC/samples"; then
        jq -e '[.samples[] | .reason == "monitor_fault" and .step == null and .score == null] | all' \
            "$tmp/wait.json" >/dev/null && ok "unsynchronised monitor: samples stored as monitor_fault, no step, no score" ||
            bad "samples while unsynchronised: $(jq -c '[.samples[] | {kind, reason, step, score}]' "$tmp/wait.json")"
    else bad "no samples while unsynchronised"; fi
    api s1 GET "/api/v1/time-sources/$SRC"
    expect s1 '[.kinds[] | .score] | map(select(. != null)) | length' 0
fi

echo "== SIGHUP: clock_check = no"
write_conf no yes 0
kill -HUP $DPID
sleep 1
curl -s -o /dev/null -w '%{http_code}' "$URL/healthz" >"$tmp/h2.rc"
[ "$(cat "$tmp/h2.rc")" = 200 ] && ok "/healthz 200 with clock_check = no" || bad "/healthz $(cat "$tmp/h2.rc")"
if wait_for 30 '.codepoints == "experimental" and .kinds["pool-v4"].score > 2 and .kinds["pool-v6"].score > 2' \
    "/api/v1/time-sources/$SRC"; then
    ok "ntstestd with experimental code points only: detected, remembered, pool kinds score"
else bad "code points: $(jq -c '{codepoints, kinds}' "$tmp/wait.json")"; fi
grep -q "answers pool records in experimental code points" "$tmp/d.log" &&
    ok "the detection is logged once" || bad "no detection log line"
[ "$(grep -c "answers pool records in experimental" "$tmp/d.log")" -eq 1 ] ||
    bad "detection logged more than once"

kill -TERM $DPID
wait $DPID
st=$?
DPID=""
[ $st -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $st"
finish
