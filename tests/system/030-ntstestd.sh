#!/bin/sh
# System test: ntspool-probe against ntstestd, our own NTS-KE + NTS-NTP test
# server (tests/server/), for what stock chrony and ntpsec cannot show: the
# pool records (both code point sets, tokens), every AEAD end to end, and a
# server that misbehaves on purpose (--misbehave).  Each case starts one
# ntstestd on free loopback ports (port 0 + --ready-file), runs one probe
# with --json, checks the result with jq, and stops the server by pid; a
# server that does not exit cleanly on SIGTERM (e.g. a sanitizer report) is
# a failure too.  A few raw requests (python3 ssl) cover what the CLI cannot
# send: malformed requests and the pool KE's request shape.
# Prints one line per check; exit 0 pass, 1 fail.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/bin}
BUILD=${BUILD:-$top/build}
TESTBED_DIR=${TESTBED_DIR:-$BUILD/testbed}
if [ ! -r "$TESTBED_DIR/testbed.env" ]; then
    echo "FAIL: $TESTBED_DIR/testbed.env missing (testbed.sh start not run?)"
    exit 1
fi
# shellcheck disable=SC1091
. "$TESTBED_DIR/testbed.env"

PROBE=$BIN/ntspool-probe
SRV=$BUILD/tests/ntstestd
for tool in jq python3 openssl chronyd; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool is not installed (scripts/setup.sh installs it)"
        exit 1
    fi
done
for f in "$PROBE" "$SRV"; do
    if [ ! -x "$f" ]; then
        echo "FAIL: $f missing (make; make $BUILD/tests/ntstestd)"
        exit 1
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ntstestd.XXXXXX")
failures=0
checks=0
SPID=""
n=0
ok() { checks=$((checks + 1)); echo "ok:   $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }

other_pid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    for p in $SPID $other_pid; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# srv_start [ntstestd options...]: start one server; sets KE, NTP, SPID, SLOG.
srv_start() {
    n=$((n + 1))
    SLOG=$work/srv$n.log
    rm -f "$work/ready"
    "$SRV" --cert "$TB_DIR/server.crt" --key "$TB_DIR/server.key" \
        --ready-file "$work/ready" -vv "$@" 2>"$SLOG" &
    SPID=$!
    i=0
    while [ ! -s "$work/ready" ]; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$SPID" 2>/dev/null; then
            echo "ntstestd $* did not start:"
            sed 's/^/    /' "$SLOG"
            SPID=""
            return 1
        fi
        sleep 0.05
    done
    read -r KE NTP <"$work/ready"
}

# srv_stop: SIGTERM; the server must exit 0 (it frees everything and ASan
# builds turn a leak into a non-zero status).
srv_stop() {
    [ -n "$SPID" ] || return 0
    kill "$SPID"
    wait "$SPID"
    st=$?
    SPID=""
    if [ $st -ne 0 ]; then
        bad "ntstestd $desc: exit status $st after SIGTERM"
        sed 's/^/    /' "$SLOG" | tail -n 30
    fi
}

# probe [ntspool-probe options...]: probe localhost:$KE over IPv4 into $work/out.json
probe() {
    "$PROBE" --json --ca-file "$TB_CA" -4 -p "$KE" "$@" localhost >"$work/out.json" \
        2>"$work/probe.err" </dev/null
}

# expect DESCRIPTION JQ-FILTER: the filter must be true of $work/out.json
# ($ntp in the filter is the NTP port of the running server)
expect() {
    if jq -e --argjson ntp "${NTP:-0}" "$2" "$work/out.json" >/dev/null 2>&1; then
        ok "$1"
    else
        bad "$1"
        echo "    want: $2"
        jq -c '.probes[] | {kind, reason, ke: {status: .ke.status, detail: .ke.detail,
               aead: .ke.aead, cookies: .ke.cookies, ntp_server: .ke.ntp_server,
               ntp_port: .ke.ntp_port, supported_aeads: .ke.supported_aeads,
               supported_protocols: .ke.supported_protocols},
               ntp: [.ntp[] | {status, detail, leap, stratum, kiss, offset,
               cookies_requested, cookies_received}]}' "$work/out.json" 2>/dev/null |
            sed 's/^/    got: /'
        [ -s "$work/out.json" ] || sed 's/^/    probe: /' "$work/probe.err" | tail -n 5
        sed 's/^/    server: /' "$SLOG" | tail -n 8
    fi
}

# case DESCRIPTION "NTSTESTD OPTIONS" "PROBE OPTIONS" JQ-FILTER
case_() {
    desc=$1
    # shellcheck disable=SC2086 # option lists are split on purpose
    srv_start $2 || { bad "$desc: ntstestd did not start"; return; }
    # shellcheck disable=SC2086
    probe $3
    expect "$desc" "$4"
    srv_stop
}

P='.probes[0]'
KE_OK="$P.ke.status == \"ok\""
NTP_OK="($P.ntp | length) == 2 and $P.ntp[0].status == \"ok\" and $P.ntp[1].status == \"ok\""
ALL_OK="$KE_OK and $NTP_OK and $P.reason == \"ok\""
CAPS="$P.ke.supported_aeads == [[15,32],[16,48],[17,64],[30,16]] and $P.ke.supported_protocols == [0]"

echo "== plain RFC 8915 (kind nts)"
case_ "nts: ke ok, 8 cookies, AEAD 15, Port record = NTP port, both NTP exchanges ok" \
    "" "" \
    "$ALL_OK and $P.kind == \"nts\" and $P.ke.aead == 15 and $P.ke.cookies == 8
     and $P.ke.ntp_port == \$ntp and $P.ke.next_protocol == 0
     and $P.ke.tls.version == \"TLSv1.3\" and $P.ke.tls.alpn == \"ntske/1\"
     and $P.ntp[0].stratum == 2 and $P.ntp[0].leap == 0 and $P.ntp[0].precision == -20
     and $P.ntp[0].cookies_received == $P.ntp[0].cookies_requested
     and $P.ntp[1].cookies_received == $P.ntp[1].cookies_requested"
for a in 16 17 30; do
    case_ "nts --aead $a: negotiated, both NTP exchanges ok" \
        "" "--aead $a" "$ALL_OK and $P.ke.aead == $a"
done
case_ "nts: the client's order wins (server 17,15; client 15,17 -> 15)" \
    "--aeads 17,15" "--aead 15,17" "$ALL_OK and $P.ke.aead == 15"
case_ "nts: server supports only 30, default offer -> 30 end to end" \
    "--aeads 30" "" "$ALL_OK and $P.ke.aead == 30"
case_ "nts: nothing in common (server 16, client 15) -> aead_none" \
    "--aeads 16" "--aead 15" "$P.ke.status == \"aead_none\""
case_ "nts: Server record 127.0.0.1 is used" \
    "--server-record 127.0.0.1" "" "$ALL_OK and $P.ke.ntp_server == \"127.0.0.1\""
case_ "nts: --offset-ms 250 is measured (offset 0.25 s +- 20 ms)" \
    "--offset-ms 250" "" \
    "$KE_OK and $NTP_OK and ($P.ntp[0].offset - 0.25 | fabs) < 0.02
     and ($P.ntp[1].offset - 0.25 | fabs) < 0.02 and $P.reason == \"offset\""
case_ "nts: --stratum 10 -> reason stratum_too_high" \
    "--stratum 10" "" "$KE_OK and $NTP_OK and $P.ntp[0].stratum == 10
     and $P.reason == \"stratum_too_high\""
case_ "nts: --leap 1 is reported" "--leap 1" "" \
    "$KE_OK and $NTP_OK and $P.ntp[0].leap == 1 and $P.ntp[1].leap == 1"
case_ "nts: --port-record to a closed UDP port -> ntp timeout" \
    "--port-record $TB_CLOSED_PORT" "--ntp-timeout 500" \
    "$KE_OK and $P.ke.ntp_port == $TB_CLOSED_PORT and $P.ntp[0].status == \"timeout\"
     and $P.reason == \"ntp_timeout\""

# Cookies of one server are garbage to another (its own master key): NTSN.
if srv_start; then
    other_ntp=$NTP
    other_pid=$SPID
    other_log=$SLOG
    SPID=""
    case_ "nts: cookies sent to another ntstestd -> NTS NAK (bad cookie)" \
        "--port-record $other_ntp" "" \
        "$KE_OK and $P.ntp[0].status == \"nts_nak\" and $P.ntp[0].kiss == \"NTSN\""
    SPID=$other_pid
    SLOG=$other_log
    other_pid=""
    desc="cookie-check peer"
    srv_stop
else
    bad "second ntstestd did not start"
fi

# An NTS client we did not write: chronyd 4.3 -Q measures ntstestd.
desc="chronyd -Q"
if srv_start --offset-ms 200; then
    out=$(timeout 30 chronyd -Q -U -u "$(id -un)" -t 10 \
        "server 127.0.0.1 port $NTP nts ntsport $KE iburst maxsamples 1" \
        "ntstrustedcerts $TB_CA" nosystemcert "pidfile $work/chronyd.pid" \
        "cmdport 0" "bindcmdaddress /" 2>&1)
    off=$(echo "$out" | sed -n 's/.*System clock wrong by \(-*[0-9.]*\) seconds.*/\1/p')
    if [ -n "$off" ] && awk -v o="$off" 'BEGIN { d = o - 0.2; exit !(d < 0.02 && d > -0.02) }'; then
        ok "chronyd -Q (NTS client of chrony 4.3) measures ntstestd --offset-ms 200: $off s"
    else
        bad "chronyd -Q against ntstestd: no offset near 0.2 s"
        echo "$out" | tail -n 5 | sed 's/^/    /'
    fi
    srv_stop
else
    bad "ntstestd for chronyd -Q did not start"
fi

desc="both loopback addresses"
if srv_start --listen 127.0.0.1 --listen ::1; then
    "$PROBE" --json --ca-file "$TB_CA" -p "$KE" localhost >"$work/out.json" 2>"$work/probe.err"
    expect "nts over 127.0.0.1 and ::1: two probes, both ok" \
        '(.probes | length) == 2 and ([.probes[].family] | sort) == ["v4","v6"]
         and all(.probes[]; .ke.status == "ok" and .reason == "ok"
                 and ([.ntp[].status] == ["ok","ok"]))'
    srv_stop
else
    bad "ntstestd on 127.0.0.1 and ::1 did not start"
fi

echo "== pool records (kind pool)"
TOK=tok-$$-a
case_ "pool: capabilities, fixed keys, both NTP exchanges ok" \
    "--token other-token --token $TOK" "--kind pool --token $TOK" \
    "$ALL_OK and $P.kind == \"pool\" and $CAPS and $P.ke.aead == 15 and $P.ke.cookies == 8"
case_ "pool --experimental-codepoints: same, end to end" \
    "--token $TOK" "--kind pool --token $TOK --experimental-codepoints" \
    "$ALL_OK and $CAPS and $P.ke.aead == 15"
case_ "pool: wrong token -> token_rejected" \
    "--token $TOK" "--kind pool --token wrong-$TOK" "$P.ke.status == \"token_rejected\""
case_ "pool --experimental-codepoints: wrong token -> token_rejected" \
    "--token $TOK" "--kind pool --token wrong --experimental-codepoints" \
    "$P.ke.status == \"token_rejected\""
case_ "pool: server without pool support (Error 0) -> pool_unsupported" \
    "" "--kind pool --token $TOK" "$P.ke.status == \"pool_unsupported\""
for a in 16 17 30; do
    case_ "pool --aead $a: fixed keys for AEAD $a, both NTP exchanges ok" \
        "--token $TOK" "--kind pool --token $TOK --aead $a" "$ALL_OK and $P.ke.aead == $a"
done
case_ "pool: server lists only 16,30; client prefers 15,30,16 -> 30" \
    "--token $TOK --aeads 16,30" "--kind pool --token $TOK --aead 15,30,16" \
    "$ALL_OK and $P.ke.aead == 30 and $P.ke.supported_aeads == [[16,48],[30,16]]"
case_ "pool: ke-split response still works" \
    "--token $TOK --misbehave ke-split" "--kind pool --token $TOK" "$ALL_OK"
desc="kind all"
if srv_start --token "$TOK"; then
    probe --kind all --token "$TOK"
    expect "kind all: an nts and a pool probe, both ok" \
        '([.probes[].kind] | sort) == ["nts","pool"]
         and all(.probes[]; .ke.status == "ok" and .reason == "ok")'
    srv_stop
fi

case_ "pool --aead all: each AEAD the server supports probed alone, the rest flagged" \
    "--token $TOK --aeads 17,15" "--kind pool --token $TOK --aead all" \
    "([.probes[] | select(.aead_unsupported | not) | .ke.aead] | sort) == [15,17]
     and ([.probes[] | select(.aead_unsupported) | .ke.status] | unique) == [\"aead_none\"]
     and ([.probes[] | select(.aead_unsupported | not) | .reason] | unique) == [\"ok\"]
     and .verdict == \"ok\""
case_ "nts --aead all: 30 and 16 not supported by a 15,17 server, flagged not failed" \
    "--aeads 15,17" "--aead all" \
    "([.probes[] | select(.aead_unsupported | not) | .ke.aead] | sort) == [15,17]
     and ([.probes[] | select(.aead_unsupported)] | length) == 2 and .exit_code == 0"

echo "== misbehaving key exchange"
while read -r what status extra; do
    [ -n "$what" ] || continue
    # shellcheck disable=SC2086
    case_ "--misbehave $what -> ke.status $status" "--misbehave $what" "$extra" \
        "$P.ke.status == \"$status\" and [$P.ntp[].status] == [\"not_attempted\",\"not_attempted\"]"
done <<EOF
ke-trailing ke_malformed
ke-duplicate-aead ke_malformed
ke-no-eom-close ke_malformed
ke-unknown-critical ke_malformed
ke-huge response_too_large
ke-aead-not-offered aead_unexpected
ke-aead-empty aead_none
ke-no-cookies no_cookies
ke-warning ke_warning
ke-error-internal ke_error
ke-silent ke_timeout --ke-timeout 1000
tls-silent ke_timeout --ke-timeout 1000
EOF
case_ "--misbehave ke-split -> ok end to end" "--misbehave ke-split" "" "$ALL_OK"
case_ "--misbehave ke-aead-not-offered (offer 15,16,17,30) -> aead_unexpected" \
    "--misbehave ke-aead-not-offered" "--aead 15,16,17,30" \
    "$P.ke.status == \"aead_unexpected\""

echo "== misbehaving NTP"
case_ "ntp-silent -> ntp timeout, reason ntp_timeout" \
    "--misbehave ntp-silent" "--ntp-timeout 500" \
    "$KE_OK and $P.ntp[0].status == \"timeout\" and $P.reason == \"ntp_timeout\""
case_ "ntp-spoof-first (wrong UID, bad MAC first) -> the real replies are taken" \
    "--misbehave ntp-spoof-first" "" "$ALL_OK"
if [ "$(grep -c '3 packet(s) sent' "$SLOG")" -eq 2 ]; then
    ok "ntp-spoof-first: the server did send 3 packets per request"
else
    bad "ntp-spoof-first: the server log does not show 3 packets per request"
fi
case_ "ntp-kod-deny -> kod_deny" \
    "--misbehave ntp-kod-deny" "" \
    "$KE_OK and $P.ntp[0].status == \"kod_deny\" and $P.ntp[0].kiss == \"DENY\"
     and $P.reason == \"kod_deny\""
case_ "ntp-kod-rate -> kod_rate" \
    "--misbehave ntp-kod-rate" "" \
    "$KE_OK and $P.ntp[0].status == \"kod_rate\" and $P.ntp[0].kiss == \"RATE\"
     and $P.reason == \"kod_rate\""
case_ "ntp-unsync -> authentic LI 3 stratum 0, reason unsynchronized" \
    "--misbehave ntp-unsync" "" \
    "$KE_OK and $P.ntp[0].status == \"ok\" and $P.ntp[0].leap == 3
     and $P.ntp[0].stratum == 0 and $P.ntp[0].kiss == null
     and $P.reason == \"unsynchronized\""
case_ "ntp-cookies-outside -> replies ok but 0 cookies taken, reason cookies_short" \
    "--misbehave ntp-cookies-outside" "" \
    "$KE_OK and $NTP_OK and $P.ntp[0].cookies_received == 0
     and $P.ntp[1].cookies_received == 0 and $P.reason == \"cookies_short\""
case_ "ntp-too-many-cookies -> the reply is ignored: ntp timeout" \
    "--misbehave ntp-too-many-cookies" "--ntp-timeout 500" \
    "$KE_OK and $P.ntp[0].status == \"timeout\"
     and ($P.ntp[0].detail | test(\"too many cookies\"))"
case_ "ntp-nak -> nts_nak" \
    "--misbehave ntp-nak" "" \
    "$KE_OK and $P.ntp[0].status == \"nts_nak\" and $P.ntp[0].kiss == \"NTSN\""
case_ "pool + ntp-spoof-first -> ok" \
    "--token $TOK --misbehave ntp-spoof-first" "--kind pool --token $TOK" "$ALL_OK"

echo "== through a pool's key exchange (ntspool-probe --uuid, request shape d)"
U=6f2c1a8e-0000-4000-8000-000000000001
case_ "pool KE: monitor key + UUID Request -> cookies for the source, both NTP exchanges ok" \
    "--monitor-key mkey-$$ --uuid $U" "--token mkey-$$ --uuid $U" \
    "$ALL_OK and ($P.ke.aead == 17 or $P.ke.aead == 15)"
case_ "pool KE: unknown UUID -> no_such_server (the monitor's fault: discarded, UNKNOWN)" \
    "--monitor-key mkey-$$ --uuid $U" "--token mkey-$$ --uuid 00000000-0000-4000-8000-000000000000" \
    "$P.ke.status == \"no_such_server\" and $P.reason == \"monitor_fault\" and .exit_code == 3"
case_ "pool KE: wrong monitor key -> token_rejected" \
    "--monitor-key mkey-$$ --uuid $U" "--token wrong --uuid $U" \
    "$P.ke.status == \"token_rejected\""

echo "== TLS and raw requests"
desc="tls"
if srv_start --token "$TOK" --monitor-key mkey-$$ --uuid 6f2c1a8e-0000-4000-8000-000000000001; then
    s_client() {
        timeout 10 openssl s_client -connect "127.0.0.1:$KE" -CAfile "$TB_CA" \
            -verify_return_error -verify_hostname localhost "$@" </dev/null 2>&1
    }
    out=$(s_client -tls1_3 -alpn ntske/1)
    if echo "$out" | grep -q '^ALPN protocol: ntske/1' && echo "$out" | grep -q 'TLSv1.3'; then
        ok "tls: TLS 1.3 with ALPN ntske/1, certificate verifies for localhost"
    else
        bad "tls: TLS 1.3 + ntske/1 handshake"
    fi
    if s_client -tls1_2 -alpn ntske/1 | grep -q '^ALPN protocol: ntske/1'; then
        bad "tls: TLS 1.2 accepted"
    else
        ok "tls: TLS 1.2 refused"
    fi
    if s_client -tls1_3 -alpn http/1.1 | grep -q '^ALPN protocol'; then
        bad "tls: ALPN http/1.1 accepted"
    else
        ok "tls: ALPN other than ntske/1 refused"
    fi

    # raw HEX-REQUEST: the response records as "type:len" (critical bit shown
    # as a "c" suffix), or "closed" when nothing came back.
    raw() {
        python3 - "$KE" "$TB_CA" "$1" <<'PYEOF'
import socket, ssl, struct, sys
port, ca, req = int(sys.argv[1]), sys.argv[2], bytes.fromhex(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(ca)
ctx.set_alpn_protocols(["ntske/1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                    server_hostname="localhost")
s.sendall(req)
def complete(b):  # a whole message: records up to End of Message
    off = 0
    while off + 4 <= len(b):
        t, l = struct.unpack(">HH", b[off:off + 4])
        off += 4 + l
        if t & 0x7FFF == 0 and off <= len(b):
            return True
    return False
buf = b""
try:
    while not complete(buf):
        d = s.recv(65536)
        if not d:
            break
        buf += d
except (ssl.SSLError, OSError):
    pass
s.close()
out, off = [], 0
while off + 4 <= len(buf):
    t, l = struct.unpack(">HH", buf[off:off + 4])
    body = buf[off + 4:off + 4 + l]
    item = "%d:%d%s" % (t & 0x7FFF, l, "c" if t & 0x8000 else "")
    if t & 0x7FFF in (1, 2, 4, 7) and l == 2:
        item += "=%d" % struct.unpack(">H", body)[0]
    out.append(item)
    off += 4 + l
print(" ".join(out) if buf else "closed")
PYEOF
    }
    # rec TYPE HEXBODY: one record as hex (TYPE includes the critical bit)
    rec() { printf '%04x%04x%s' "$1" $((${#2} / 2)) "$2"; }
    hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
    EOM=$(rec 32768 "")
    NP=$(rec 32769 0000)
    AE=$(rec 32772 000f)
    expect_raw() { # description request expected
        got=$(raw "$2" 2>&1)
        if [ "$got" = "$3" ]; then ok "raw: $1 -> $got"; else bad "raw: $1: got '$got', want '$3'"; fi
    }
    cookies8="5:100 5:100 5:100 5:100 5:100 5:100 5:100 5:100"
    expect_raw "plain request" "$NP$AE$EOM" \
        "1:2c=0 4:2c=15 7:2=$NTP $cookies8 0:0c"
    expect_raw "no AEAD record -> Error 1" "$NP$EOM" "2:2c=1 0:0c"
    expect_raw "unknown critical record -> Error 0" "$NP$AE$(rec 40000 00)$EOM" "2:2c=0 0:0c"
    expect_raw "unknown non-critical record ignored" "$NP$AE$(rec 7000 00)$EOM" \
        "1:2c=0 4:2c=15 7:2=$NTP $cookies8 0:0c"
    expect_raw "only AEAD 31 offered -> empty AEAD record" "$NP$(rec 32772 001f)$EOM" \
        "1:2c=0 4:0c 0:0c"
    expect_raw "no NTPv4 in Next Protocol -> empty Next Protocol" \
        "$(rec 32769 8000)$AE$EOM" "1:0c 0:0c"
    expect_raw "bytes after End of Message -> Error 1" "$NP$AE$EOM$EOM" "2:2c=1 0:0c"
    big=$(rec 7000 "$(printf '%04200d' 0 | sed 's/0/00/g')")
    expect_raw "request of 4220 bytes -> Error 1" "$NP$AE$big$EOM" "2:2c=1 0:0c"
    expect_raw "request of 12.6 kB -> Error 1" "$NP$AE$big$big$big$EOM" "2:2c=1 0:0c"
    # The pool KE's shape (d): token = monitor key, UUID Request 0x4F01.
    mk=$(rec 14 "$(hex "mkey-$$")")
    uuid=$(rec $((0x8000 | 0x4F01)) "$(hex 6f2c1a8e-0000-4000-8000-000000000001)")
    expect_raw "pool KE request (monitor key, UUID)" "$mk$uuid$NP$AE$EOM" \
        "1:2c=0 4:2c=15 7:2=$NTP $cookies8 0:0c"
    expect_raw "pool KE request, unknown UUID -> Error 0xF000" \
        "$mk$(rec $((0x8000 | 0x4F01)) "$(hex nope)")$NP$AE$EOM" "2:2c=61440 0:0c"
    expect_raw "pool KE request, wrong monitor key -> Error 1" \
        "$(rec 14 "$(hex wrong)")$uuid$NP$AE$EOM" "2:2c=1 0:0c"
    expect_raw "capabilities query without a token -> Error 1" \
        "$(rec $((0x8000 | 10)) "")$(rec $((0x8000 | 9)) "")$EOM" "2:2c=1 0:0c"
    expect_raw "pool records of both code point sets -> Error 1" \
        "$(rec 14 "$(hex "$TOK")")$(rec $((0x8000 | 0x4001)) "")$(rec $((0x8000 | 9)) "")$EOM" \
        "2:2c=1 0:0c"
    expect_raw "fixed key of the wrong length -> Error 1" \
        "$(rec 14 "$(hex "$TOK")")$(rec $((0x8000 | 12)) 00112233)$NP$AE$EOM" "2:2c=1 0:0c"
    srv_stop
else
    bad "ntstestd for the TLS checks did not start"
fi

echo "$checks checks, $failures failed"
if [ $failures -eq 0 ]; then
    echo "PASS: ntstestd"
    exit 0
fi
echo "FAIL: $failures check(s) failed"
exit 1
