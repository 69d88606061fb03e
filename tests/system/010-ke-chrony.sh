#!/bin/sh
# NTS-KE against chronyd 4.3 (ntspool-probe --ke-only): the good path over
# 127.0.0.1, ::1 and localhost, the certificate failures, a closed port, an
# expiring certificate, and a pool request to stock chrony.
. "$(dirname "$0")/lib.sh"
CA="--ca-file $TB_CA"

for host in 127.0.0.1 ::1 localhost; do
    n=sync-$(echo "$host" | tr -c 'a-z0-9\n' '_')
    # shellcheck disable=SC2086
    probe "$n" --ke-only $CA -p "$TB_SYNC_KE" "$host"
    expect_rc "$n" 0
    expect "$n" '[.probes[].ke.status] | unique | .[]' ok
    expect "$n" '[.probes[].ke.aead] | unique | .[]' 15
    expect "$n" '[.probes[].ke.cookies] | unique | .[]' 8
    expect "$n" '[.probes[].ke.cookie_size] | unique | .[]' 100
    expect "$n" '[.probes[].ke.ntp_port] | unique | .[]' "$TB_SYNC_NTP"
    expect "$n" '[.probes[].ke.tls.version] | unique | .[]' TLSv1.3
    expect "$n" '[.probes[].ke.tls.alpn] | unique | .[]' ntske/1
    expect "$n" '.probes[0].ke.tls.subject' CN=localhost
    expect "$n" '.probes | length > 0' true
    expect "$n" '.probes[0].ntp | length' 0
done
expect sync-__1 '.probes[0].family' v6
expect sync-__1 '.probes[0].address' ::1
expect sync-127_0_0_1 '.probes[0].family' v4
# -4 and -6 on a name.
# shellcheck disable=SC2086
probe only4 --ke-only -4 $CA -p "$TB_SYNC_KE" localhost
expect only4 '[.probes[].family] | unique | .[]' v4
# [v6]:port syntax.
# shellcheck disable=SC2086
probe bracket --ke-only $CA "[::1]:$TB_SYNC_KE"
expect bracket '.probes[0].ke.status' ok

# Certificates: untrusted CA, expired leaf, wrong name (by IP and by name).
# shellcheck disable=SC2086
probe untrusted --ke-only $CA -p "$TB_UNTRUSTED_KE" 127.0.0.1
expect untrusted '.probes[0].ke.status' cert_untrusted
expect_rc untrusted 2
# shellcheck disable=SC2086
probe expired --ke-only $CA -p "$TB_EXPIRED_KE" 127.0.0.1
expect expired '.probes[0].ke.status' cert_expired
# shellcheck disable=SC2086
probe wrongip --ke-only $CA -p "$TB_WRONGNAME_KE" 127.0.0.1
expect wrongip '.probes[0].ke.status' cert_name_mismatch
# shellcheck disable=SC2086
probe wrongname --ke-only $CA -p "$TB_WRONGNAME_KE" localhost
expect wrongname '[.probes[].ke.status] | unique | .[]' cert_name_mismatch
# Without our CA the test CA is untrusted.
probe noca --ke-only -p "$TB_SYNC_KE" 127.0.0.1
expect noca '.probes[0].ke.status' cert_untrusted
# A certificate that expires within 14 days: WARNING.
# shellcheck disable=SC2086
probe soon --ke-only $CA -p "$TB_SOON_KE" 127.0.0.1
expect soon '.probes[0].ke.status' ok
expect soon '.probes[0].ke.tls.days_left < 14' true
expect soon '.verdict' warning
expect_rc soon 1
# Closed port: connect_refused, CRITICAL.
# shellcheck disable=SC2086
probe closed --ke-only $CA -p "$TB_CLOSED_PORT" 127.0.0.1
expect closed '.probes[0].ke.status' connect_refused
expect_rc closed 2
# A pool request to stock chrony: Error 0 -> pool_unsupported.
# shellcheck disable=SC2086
probe poolchrony --ke-only $CA --kind pool --token sometoken -p "$TB_SYNC_KE" 127.0.0.1
expect poolchrony '.probes[0].ke.status' pool_unsupported
expect poolchrony '.probes[0].ke.detail | test("code 0")' true
# shellcheck disable=SC2086
probe poolchronyx --ke-only $CA --kind pool --token t --experimental-codepoints \
    -p "$TB_SYNC_KE" 127.0.0.1
expect poolchronyx '.probes[0].ke.status' pool_unsupported
# chrony 4.3 answers an offer of only 30 with an empty AEAD record.
# shellcheck disable=SC2086
probe only30 --ke-only $CA --aead 30 -p "$TB_SYNC_KE" 127.0.0.1
expect only30 '.probes[0].ke.status' aead_none
# The Server record (ntsntpserver localhost).
# shellcheck disable=SC2086
probe servername --ke-only $CA -p "$TB_SERVERNAME_KE" 127.0.0.1
expect servername '.probes[0].ke.ntp_server' localhost
# A name that does not resolve: dns_failed, CRITICAL.
probe nxdomain --ke-only -p 4460 no-such-host.invalid
expect nxdomain '.probes[0].ke.status' dns_failed
expect_rc nxdomain 2
# Usage errors: UNKNOWN.
"$PROBE" --aead 99 localhost >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && ok "bad --aead: exit 3" || bad "bad --aead: exit $rc"
"$PROBE" >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && ok "no host: exit 3" || bad "no host: exit $rc"
"$PROBE" --kind pool localhost >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && ok "pool without token: exit 3" || bad "pool without token: exit $rc"
# Human output names the facts.
"$PROBE" --ke-only $CA -p "$TB_SYNC_KE" 127.0.0.1 >"$tmp/human.txt" 2>&1
for word in "key exchange  ok" "TLSv1.3" "CN=localhost" "AEAD 15" "8 cookies of 100 bytes" "OK"; do
    grep -q "$word" "$tmp/human.txt" && ok "human output shows '$word'" || bad "human output lacks '$word'"
done
finish
