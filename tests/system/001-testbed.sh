#!/bin/sh
# System test: the loopback test bed (scripts/testbed.sh start) works.
# Checks the chronyd NTS-KE servers with openssl s_client (trusted, untrusted,
# expired, wrong name, expiring soon), plain NTP answers (LI/stratum), the
# closed ports, a full NTS measurement with chronyd -Q (testbed.sh chrony-q),
# chronyc over the instance socket, and the ntpsec server inside its namespace.
# Exit 0 pass, 1 fail.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
TESTBED_DIR=${TESTBED_DIR:-$BUILD/testbed}
export TESTBED_DIR
if [ ! -r "$TESTBED_DIR/testbed.env" ]; then
    echo "FAIL: $TESTBED_DIR/testbed.env missing (testbed.sh start not run?)"
    exit 1
fi
# shellcheck disable=SC1091
. "$TESTBED_DIR/testbed.env"

failures=0
ok() { echo "ok:   $*"; }
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

# ke PORT [s_client args...]: TLS 1.3 + ALPN ntske/1 handshake, output on stdout
ke() {
    port=$1
    shift
    timeout 10 openssl s_client -connect "127.0.0.1:$port" -alpn ntske/1 -tls1_3 \
        -verify_return_error "$@" </dev/null 2>&1
}

# ntp ADDR PORT: prints "LI STRATUM", or "refused", or "timeout" (plain NTP mode 3)
ntp() {
    python3 - "$1" "$2" <<'EOF'
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.connect((sys.argv[1], int(sys.argv[2])))
res = "timeout"
for _ in range(3):
    try:
        s.send(b"\x23" + 47 * b"\0")
        d = s.recv(512)
        res = "%d %d" % (d[0] >> 6, d[1])
        break
    except ConnectionRefusedError:
        res = "refused"
        break
    except socket.timeout:
        pass
print(res)
EOF
}

echo "== NTS-KE handshakes (openssl s_client)"
out=$(ke "$TB_SYNC_KE" -CAfile "$TB_CA" -verify_hostname localhost)
st=$?
if [ $st -eq 0 ] && echo "$out" | grep -q '^ALPN protocol: ntske/1' &&
    echo "$out" | grep -q 'Verify return code: 0 (ok)' && echo "$out" | grep -q 'TLSv1.3'; then
    ok "sync ($TB_SYNC_KE): TLS 1.3, ALPN ntske/1, chain verifies against TB_CA for localhost"
else
    bad "sync ($TB_SYNC_KE): handshake (status $st)"
    echo "$out" | tail -n 20
fi
if ke "$TB_SYNC_KE" -CAfile "$TB_CA" -verify_ip 127.0.0.1 >/dev/null; then ok "sync: certificate valid for IP 127.0.0.1"; else bad "sync: IP 127.0.0.1 SAN"; fi

out=$(ke "$TB_UNTRUSTED_KE" -CAfile "$TB_CA")
st=$?
if [ $st -ne 0 ] && echo "$out" | grep -q 'Verify return code: [1-9]'; then
    ok "untrusted ($TB_UNTRUSTED_KE): fails verification against TB_CA ($(echo "$out" | grep 'Verify return code' | head -n 1))"
else
    bad "untrusted ($TB_UNTRUSTED_KE): handshake did not fail verification (status $st)"
fi
if ke "$TB_UNTRUSTED_KE" -CAfile "$TB_UNTRUSTED_CA" >/dev/null; then ok "untrusted: verifies against TB_UNTRUSTED_CA"; else bad "untrusted: does not verify against its own CA"; fi

out=$(ke "$TB_EXPIRED_KE" -CAfile "$TB_CA")
if echo "$out" | grep -q 'Verify return code: 10 (certificate has expired)'; then
    ok "expired ($TB_EXPIRED_KE): certificate has expired"
else
    bad "expired ($TB_EXPIRED_KE): no 'certificate has expired'"
    echo "$out" | grep -i verify
fi

out=$(ke "$TB_WRONGNAME_KE" -CAfile "$TB_CA" -verify_hostname localhost)
if echo "$out" | grep -q 'Verify return code: 62 (hostname mismatch)'; then
    ok "wrongname ($TB_WRONGNAME_KE): hostname mismatch for localhost"
else
    bad "wrongname ($TB_WRONGNAME_KE): no hostname mismatch"
fi
if ke "$TB_WRONGNAME_KE" -CAfile "$TB_CA" -verify_hostname wrong.example >/dev/null; then ok "wrongname: valid for wrong.example"; else bad "wrongname: not valid for wrong.example"; fi

if out=$(ke "$TB_SOON_KE" -CAfile "$TB_CA" -verify_hostname localhost); then
    cert=$(echo "$out" | sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p')
    if echo "$cert" | openssl x509 -noout -checkend $((14 * 86400)) >/dev/null; then
        bad "soon ($TB_SOON_KE): served certificate does not expire within 14 days"
    elif echo "$cert" | openssl x509 -noout -checkend $((4 * 86400)) >/dev/null; then
        ok "soon ($TB_SOON_KE): valid now, expires within 14 days ($(echo "$cert" | openssl x509 -noout -enddate))"
    else
        bad "soon ($TB_SOON_KE): expires within 4 days"
    fi
else
    bad "soon ($TB_SOON_KE): handshake failed"
fi

for n in $TB_INSTANCES; do
    N=$(echo "$n" | tr '[:lower:]' '[:upper:]')
    eval "port=\$TB_${N}_KE"
    if timeout 5 openssl s_client -connect "127.0.0.1:$port" -alpn ntske/1 -tls1_3 </dev/null 2>&1 |
        grep -q '^ALPN protocol: ntske/1'; then
        ok "$n: NTS-KE on 127.0.0.1:$port negotiates ntske/1"
    else
        bad "$n: NTS-KE on 127.0.0.1:$port"
    fi
done

echo "== plain NTP answers (LI stratum)"
expect_ntp() { # name port expected
    got=$(ntp 127.0.0.1 "$2")
    if [ "$got" = "$3" ]; then ok "$1 (127.0.0.1:$2/udp): $got"; else bad "$1 (127.0.0.1:$2/udp): got '$got', want '$3'"; fi
}
expect_ntp sync "$TB_SYNC_NTP" "0 2"
expect_ntp unsync "$TB_UNSYNC_NTP" "3 0"
expect_ntp stratum10 "$TB_STRATUM10_NTP" "0 10"
expect_ntp servername "$TB_SERVERNAME_NTP" "0 2"
expect_ntp badport "$TB_BADPORT_NTP" "refused"
expect_ntp closed "$TB_CLOSED_PORT" "refused"
got=$(ntp ::1 "$TB_SYNC_NTP")
if [ "$got" = "0 2" ]; then ok "sync ([::1]:$TB_SYNC_NTP/udp): $got"; else bad "sync over ::1: got '$got'"; fi
if timeout 5 openssl s_client -connect "127.0.0.1:$TB_CLOSED_PORT" </dev/null >/dev/null 2>&1; then
    bad "closed: something accepts TCP on $TB_CLOSED_PORT"
else
    ok "closed: no TCP listener on $TB_CLOSED_PORT"
fi

echo "== NTS measurement with chronyd -Q (testbed.sh chrony-q)"
line=$(sh "$TB_SCRIPT" chrony-q sync 2>"$TB_DIR/chrony-q.err")
st=$?
if [ $st -eq 0 ] && echo "$line" | grep -Eq 'System clock wrong by -?[0-9]+\.[0-9]+ seconds'; then
    ok "chrony-q sync: $line"
else
    bad "chrony-q sync (status $st): '$line'"
    tail -n 10 "$TB_DIR/chrony-q.err"
fi
if TB_Q_TIMEOUT=4 sh "$TB_SCRIPT" chrony-q untrusted >/dev/null 2>&1; then
    bad "chrony-q untrusted measured an offset"
else
    ok "chrony-q untrusted: no offset (certificate not trusted)"
fi
stats=$(chronyc -h "$TB_SYNC_SOCK" serverstats 2>&1)
nke=$(echo "$stats" | sed -n 's/^NTS-KE connections accepted *: *//p')
nauth=$(echo "$stats" | sed -n 's/^Authenticated NTP packets *: *//p')
if [ "${nke:-0}" -gt 0 ] 2>/dev/null && [ "${nauth:-0}" -gt 0 ] 2>/dev/null; then
    ok "chronyc serverstats on $TB_SYNC_SOCK: $nke NTS-KE connections, $nauth authenticated packets"
else
    bad "chronyc serverstats on $TB_SYNC_SOCK"
    echo "$stats"
fi

echo "== ntpsec in its namespace (testbed.sh ntpsec)"
# shellcheck disable=SC2016 # expanded by the inner shell
out=$(timeout 120 sh "$TB_SCRIPT" ntpsec sh -c '
    timeout 10 openssl s_client -connect "127.0.0.1:$TB_NTPSEC_KE" -alpn ntske/1 -tls1_3 \
        -CAfile "$TB_CA" -verify_return_error -verify_hostname localhost </dev/null 2>&1 &&
    sh "$TB_SCRIPT" chrony-q ntpsec 2>/dev/null' 2>&1)
st=$?
if [ $st -eq 0 ] && echo "$out" | grep -q '^ALPN protocol: ntske/1' &&
    echo "$out" | grep -q 'System clock wrong by'; then
    ok "ntpsec: NTS-KE on 127.0.0.1:4460 (ntske/1, verifies) and chrony-q measures it"
else
    bad "ntpsec (status $st)"
    echo "$out" | tail -n 30
fi
out=$(timeout 60 sh "$TB_SCRIPT" ntpsec sh -c 'exit 3' 2>&1)
st=$?
if [ $st -eq 3 ]; then ok "ntpsec passes on the command's exit status"; else bad "ntpsec exit status: $st, want 3"; echo "$out" | tail -n 5; fi

if [ $failures -eq 0 ]; then
    echo "PASS: test bed works"
    exit 0
fi
echo "FAIL: $failures check(s) failed"
exit 1
