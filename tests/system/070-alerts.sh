#!/bin/sh
# System test: alerts (PRODUCT.md "GET/PUT /api/v1/account/alerts") against
# the real test bed.  ntspoold (interval 1 s) with [alerts] pointing at a
# loopback SMTP sink, an account with an e-mail address and a loopback
# webhook receiver (both tests/system/alerts_sink.py):
#  - PUT validation: 400 for mailto:, an invalid address, a URL with a
#    blank, http:// elsewhere than loopback, and (allow_private = no, after a
#    SIGHUP) a webhook on a loopback literal or on a name that resolves to one;
#  - ntstestd with the source's token joins the pool: no message (first
#    entry); stopped: left_pool on both channels, with the reason; restarted:
#    back_in_pool; stopped again within 24 h: no second left_pool;
#  - the test bed's "soon" instance (a leaf that expires in 5 days):
#    cert_expiring;
#  - the mail's headers; the API's "sent" list, newest first; the webhook's
#    secret never in the log; a restart sends nothing again.
. "$(dirname "$0")/lib.sh"

D=$BIN/ntspoold
SRV=$BUILD/tests/ntstestd
SINK=$(dirname "$0")/alerts_sink.py
need_tools jq curl python3
[ -x "$D" ] && [ -x "$SRV" ] || { echo "FAIL: $D or $SRV missing"; exit 1; }

DPID="" TPID="" HPID="" MPID=""
stop_at_exit DPID TPID HPID MPID

# shellcheck disable=SC2034 # HPID and MPID: stopped by name at exit (stop_at_exit)
{
    python3 "$SINK" http "$tmp/hooks.jsonl" "$tmp/hook.port" &
    HPID=$!
    python3 "$SINK" smtp "$tmp/mails.jsonl" "$tmp/smtp.port" &
    MPID=$!
}
i=0
until [ -s "$tmp/hook.port" ] && [ -s "$tmp/smtp.port" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "FAIL: the sinks did not start"; exit 1; }
    sleep 0.1
done
HOOK_PORT=$(cat "$tmp/hook.port")
SMTP_PORT=$(cat "$tmp/smtp.port")

write_conf() { # allow_private
    ntspoold_conf <<EOC
[monitor]
interval = 1
ke_timeout = 2
ntp_timeout = 0.5
ca_file = $TB_CA
allow_private = $1
clock_check = no
[alerts]
smtp_url = smtp://127.0.0.1:$SMTP_PORT
from = pool@example.org
[log]
level = info
EOC
}
write_conf yes
ntspoold_start "$CONF" "$tmp/d.log" "$URL" || exit 1
TOKEN=$("$D" -c "$CONF" user-add alice@example.org 2>/dev/null)

# count FILE CAUSE: messages of that cause received
hooks() { jq -s "[.[] | select(.body.cause == \"$1\")] | length" "$tmp/hooks.jsonl"; }
mails() { jq -s "[.[] | select(.data | test(\"$1\"))] | length" "$tmp/mails.jsonl"; }
# wait_until SECONDS SHELL-CONDITION
wait_until() {
    end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -le "$end" ]; do
        if eval "$2"; then return 0; fi
        sleep 0.5
    done
    return 1
}

echo "== PUT validation"
api g0 GET /api/v1/account/alerts
status_is g0 200
expect g0 '[.email, .webhook, (.sent | length)] | @csv' ',,0'
api p1 PUT /api/v1/account/alerts '{"email": "mailto:alice@example.org"}'
error_is p1 400 invalid_email
api p2 PUT /api/v1/account/alerts '{"email": "alice@example.org\r\nBcc: x@example.org"}'
error_is p2 400 invalid_email
api p3 PUT /api/v1/account/alerts '{"email": "not an address"}'
error_is p3 400 invalid_email
api p4 PUT /api/v1/account/alerts '{"webhook": "mailto:alice@example.org"}'
error_is p4 400 invalid_webhook
api p5 PUT /api/v1/account/alerts '{"webhook": "http://hooks.example.org/x"}'
error_is p5 400 invalid_webhook
api p6 PUT /api/v1/account/alerts '{"webhook": 5}'
error_is p6 400 invalid_webhook
api p7 PUT /api/v1/account/alerts '{"email": "x@example.org"}' ""
error_is p7 401 unauthorized
api p8 POST /api/v1/account/alerts '{}'
error_is p8 405 method_not_allowed

echo "== allow_private = no (SIGHUP): private webhooks refused"
write_conf no
kill -HUP "$DPID"
sleep 0.5
api q1 PUT /api/v1/account/alerts '{"webhook": "https://127.0.0.1/hook"}'
error_is q1 400 invalid_webhook
api q2 PUT /api/v1/account/alerts '{"webhook": "https://localhost/hook"}'
error_is q2 400 invalid_webhook
api q3 PUT /api/v1/account/alerts "{\"webhook\": \"http://127.0.0.1:$HOOK_PORT/hook\"}"
error_is q3 400 invalid_webhook
api q4 PUT /api/v1/account/alerts '{"webhook": "https://10.0.0.1/hook"}'
error_is q4 400 invalid_webhook
write_conf yes
kill -HUP "$DPID"
sleep 0.5

echo "== set both channels"
SECRET=s3cr3t-$$
api p9 PUT /api/v1/account/alerts \
    "{\"email\": \"alice@example.org\", \"webhook\": \"http://127.0.0.1:$HOOK_PORT/hook?key=$SECRET\"}"
status_is p9 200
expect p9 '.email' alice@example.org
expect p9 ".webhook" "http://127.0.0.1:$HOOK_PORT/hook?key=$SECRET"
api p10 PUT /api/v1/account/alerts '{"email": null}'
expect p10 '[.email, (.webhook != null)] | @csv' ',true'
api p11 PUT /api/v1/account/alerts '{"email": "alice@example.org"}'
expect p11 '[.email, (.webhook != null)] | @csv' '"alice@example.org",true'

echo "== a source joins the pool: no message"
KP=$(free_port)
api add POST /api/v1/time-sources "{\"host\": \"localhost\", \"port\": $KP}"
status_is add 201
SRC=$(jq -r .id "$tmp/add.json")
PTOKEN=$(jq -r .token "$tmp/add.json")
start_srv() {
    "$SRV" --cert "$TB_DIR/server.crt" --key "$TB_DIR/server.key" --listen 127.0.0.1 \
        --listen ::1 --ke-port "$KP" --token "$PTOKEN" 2>>"$tmp/t.log" &
    TPID=$!
}
stop_srv() { kill "$TPID"; wait "$TPID" 2>/dev/null; TPID=""; }
start_srv
if wait_for 60 '.in_pool == true' "/api/v1/time-sources/$SRC"; then ok "in the pool"
else bad "not in the pool: $(jq -c '{in_pool, reason}' "$tmp/wait.json")"; fi
sleep 6
[ "$(wc -l <"$tmp/hooks.jsonl")" = 0 ] && [ "$(wc -l <"$tmp/mails.jsonl")" = 0 ] &&
    ok "joining the pool the first time sends nothing" || bad "a message on first entry"

echo "== ntstestd stops: left_pool"
stop_srv
if wait_until 60 '[ "$(hooks left_pool)" = 1 ] && [ "$(mails "left the pool")" = 1 ]'; then
    ok "left_pool by webhook and by mail"
else bad "left_pool: hooks $(hooks left_pool), mails $(mails 'left the pool')"; fi
jq -s '[.[] | select(.body.cause == "left_pool")][0]' "$tmp/hooks.jsonl" >"$tmp/h1.json"
: >"$tmp/h1.err"
expect h1 '.path' "/hook?key=$SECRET"
expect h1 '.ctype' application/json
expect h1 '[.body.source, .body.host, .body.port] | @csv' "$SRC,\"localhost\",$KP"
expect h1 '.body.uuid | test("^[0-9a-f-]{36}$")' true
expect h1 '(.body.reason | type) == "string" and (.body.reason | length) > 0' true
expect h1 '.body.scores | keys | join(",")' 'nts-v4,nts-v6,pool-v4,pool-v6'
expect h1 '.body.time > 1700000000' true
jq -s '[.[] | select(.data | test("left the pool"))][0]' "$tmp/mails.jsonl" >"$tmp/m1.json"
: >"$tmp/m1.err"
expect m1 '.from' '<pool@example.org>'
expect m1 '.rcpt | join(",")' '<alice@example.org>'
expect m1 '[.data | test("^From: ntspool <pool@example.org>\r\n"), test("\r\nTo: <alice@example.org>\r\n"),
    test("\r\nSubject: \\[ntspool\\] localhost port [0-9]+ left the pool\r\n"),
    test("\r\nDate: [A-Z][a-z][a-z], [0-9]{2} [A-Z][a-z][a-z] [0-9]{4} [0-9:]{8} \\+0000\r\n"),
    test("\r\nMessage-ID: <[0-9a-f]+\\.[0-9]+@example.org>\r\n"),
    test("\r\nContent-Type: text/plain; charset=utf-8\r\n"), test("\r\nReason: ")] | all' true

echo "== ntstestd back: back_in_pool"
start_srv
if wait_until 90 '[ "$(hooks back_in_pool)" = 1 ] && [ "$(mails "back in the pool")" = 1 ]'; then
    ok "back_in_pool by webhook and by mail"
else bad "back_in_pool: hooks $(hooks back_in_pool)"; fi

[ "$(jq -s '[.[] | select(.body.cause == "back_in_pool")][0].body.reason' "$tmp/hooks.jsonl")" = null ] &&
    ok "back_in_pool: reason null" || bad "back_in_pool reason"

echo "== stopped again within 24 h: no second left_pool"
stop_srv
if wait_for 60 '.in_pool == false' "/api/v1/time-sources/$SRC"; then ok "out of the pool again"
else bad "still in the pool"; fi
sleep 8
[ "$(hooks left_pool)" = 1 ] && [ "$(mails 'left the pool')" = 1 ] &&
    ok "at most one left_pool per 24 h" || bad "left_pool sent again: $(hooks left_pool)"

echo "== a certificate that expires in 5 days: cert_expiring"
api adds POST /api/v1/time-sources "{\"host\": \"localhost\", \"port\": $TB_SOON_KE}"
status_is adds 201
SOON=$(jq -r .id "$tmp/adds.json")
if wait_until 60 '[ "$(hooks cert_expiring)" = 1 ]'; then ok "cert_expiring by webhook"
else bad "no cert_expiring: $(cat "$tmp/hooks.jsonl")"; fi
jq -s '[.[] | select(.body.cause == "cert_expiring")][0]' "$tmp/hooks.jsonl" >"$tmp/h3.json"
: >"$tmp/h3.err"
expect h3 '.body.source' "$SOON"
expect h3 '.body.reason | test("expires .* \\((4|5) days\\)")' true
wait_until 20 '[ "$(mails "certificate that expires")" = 1 ]' && ok "cert_expiring by mail" ||
    bad "no cert_expiring mail"
sleep 6
[ "$(hooks cert_expiring)" = 1 ] && ok "cert_expiring once" || bad "cert_expiring repeated"

echo "== the API lists what was sent"
api g1 GET /api/v1/account/alerts
status_is g1 200
expect g1 '.sent | length' 6
expect g1 '[.sent[] | .status] | unique | join(",")' sent
expect g1 '[.sent[] | .channel] | sort | join(",")' 'email,email,email,webhook,webhook,webhook'
expect g1 '.sent[0] | [.cause, .source, .host] | @csv' "\"cert_expiring\",$SOON,\"localhost\""
expect g1 '[.sent[] | .cause] | .[-2:] | unique | join(",")' left_pool
expect g1 '[.sent[] | .time] | . == (sort | reverse)' true
api g2 GET /api/v1/account/alerts "" "$("$D" -c "$CONF" user-add bob@example.org 2>/dev/null)"
expect g2 '.sent | length' 0

echo "== secrets and restarts"
if grep -q "$SECRET" "$tmp/d.log"; then bad "the webhook URL was logged"; else ok "webhook URL not logged"; fi
grep -q "alerts: source $SRC left_pool" "$tmp/d.log" && ok "the event is logged" || bad "no log line"
kill "$DPID"; wait "$DPID"; DPID=""
ntspoold_start "$CONF" "$tmp/d2.log" "$URL" || exit 1
sleep 8
[ "$(wc -l <"$tmp/hooks.jsonl")" = 3 ] && ok "a restart sends nothing again" ||
    bad "after restart: $(wc -l <"$tmp/hooks.jsonl") hooks"
kill "$DPID"; wait "$DPID"; st=$?; DPID=""
[ $st = 0 ] && ! grep -q Sanitizer "$tmp/d.log" "$tmp/d2.log" &&
    ok "SIGTERM: exit 0, no sanitizer report" || bad "exit $st: $(grep -h Sanitizer "$tmp"/d*.log | head -3)"
finish
