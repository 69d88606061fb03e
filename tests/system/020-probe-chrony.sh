#!/bin/sh
# Full probes (key exchange + two NTP exchanges) against chronyd 4.3: the
# healthy server over 127.0.0.1, ::1 and localhost, cross-checked with
# chronyd -Q; the unsynchronised and stratum-10 variants; a corrupted cookie;
# a Port record pointing at a closed UDP port.
. "$(dirname "$0")/lib.sh"
CA="--ca-file $TB_CA"

for host in 127.0.0.1 ::1 localhost; do
    n=full-$(echo "$host" | tr -c 'a-z0-9\n' '_')
    # shellcheck disable=SC2086
    probe "$n" $CA -p "$TB_SYNC_KE" "$host"
    expect_rc "$n" 0
    expect "$n" '.verdict' ok
    expect "$n" '[.probes[].ntp | length] | unique | .[]' 2
    expect "$n" '[.probes[].ntp[].status] | unique | .[]' ok
    expect "$n" '[.probes[].ntp[] | (.offset | fabs) < 0.001] | unique | .[]' true
    expect "$n" '[.probes[].ntp[] | .delay >= 0 and .delay < 0.01] | unique | .[]' true
    expect "$n" '[.probes[].ntp[] | .cookies_received == .cookies_requested] | unique | .[]' true
    expect "$n" '[.probes[].ntp[] | .cookies_requested >= 1 and .cookies_requested <= 3] | unique | .[]' true
    expect "$n" '[.probes[].ntp[].stratum] | unique | .[]' 2
    expect "$n" '[.probes[].ntp[].leap] | unique | .[]' 0
    expect "$n" '[.probes[].reason] | unique | .[]' ok
    expect "$n" '[.probes[].step] | unique | .[]' 1
    expect "$n" '[.probes[].ntp[].port] | unique | .[]' "$TB_SYNC_NTP"
done

# The offset agrees within 1 ms with chronyd -Q measuring the same server.
# shellcheck disable=SC2086
probe cross $CA -p "$TB_SYNC_KE" 127.0.0.1
q=$(sh "$TB_SCRIPT" chrony-q sync 2>/dev/null | sed -n 's/.*System clock wrong by \(-\{0,1\}[0-9.]*\) seconds.*/\1/p')
if [ -n "$q" ]; then
    ours=$(jq -r '.probes[0].ntp[1].offset' "$tmp/cross.json")
    # chronyd -Q prints how wrong OUR clock is: the server's offset from us.
    if python3 -c "import sys; o=float(sys.argv[1]); q=float(sys.argv[2]); sys.exit(0 if abs(o-q) < 0.001 else 1)" "$ours" "$q"; then
        ok "offset $ours agrees with chronyd -Q $q within 1 ms"
    else
        bad "offset $ours vs chronyd -Q $q: more than 1 ms apart"
    fi
else
    bad "chronyd -Q gave no measurement"
fi

# Unsynchronised chronyd: authentic replies with leap 3 and stratum 0, not a kiss.
# shellcheck disable=SC2086
probe unsync $CA -p "$TB_UNSYNC_KE" 127.0.0.1
expect unsync '[.probes[0].ntp[].status] | unique | .[]' ok
expect unsync '[.probes[0].ntp[].leap] | unique | .[]' 3
expect unsync '[.probes[0].ntp[].stratum] | unique | .[]' 0
expect unsync '[.probes[0].ntp[].kiss] | unique | .[]' null
expect unsync '.probes[0].reason' unsynchronized
expect unsync '.probes[0].step' -4
expect_rc unsync 2

# Stratum 10: stratum_too_high, CRITICAL.
# shellcheck disable=SC2086
probe stratum10 $CA -p "$TB_STRATUM10_KE" 127.0.0.1
expect stratum10 '.probes[0].ntp[0].stratum' 10
expect stratum10 '.probes[0].reason' stratum_too_high
expect_rc stratum10 2

# A corrupted cookie: chrony answers an NTS NAK.
# shellcheck disable=SC2086
probe nak $CA --corrupt-cookie -p "$TB_SYNC_KE" 127.0.0.1
expect nak '.probes[0].ntp[0].status' nts_nak
expect nak '.probes[0].ntp[0].kiss' NTSN
expect nak '.probes[0].reason' ntp_failed
expect_rc nak 2

# The Port record points at a closed UDP port on 127.0.0.1: ICMP port
# unreachable must not end the exchange early; it times out.
start=$(date +%s%N)
# shellcheck disable=SC2086
probe badport $CA --ntp-timeout 700 -p "$TB_BADPORT_KE" 127.0.0.1
end=$(date +%s%N)
expect badport '.probes[0].ke.status' ok
expect badport '.probes[0].ke.ntp_port' "$((11131 + ${TB_PORT_OFFSET:-0}))"
expect badport '.probes[0].ntp[0].status' timeout
expect badport '.probes[0].reason' ntp_timeout
elapsed=$(( (end - start) / 1000000 ))
[ "$elapsed" -ge 650 ] && ok "badport waited the whole timeout (${elapsed} ms)" \
    || bad "badport ended after ${elapsed} ms, before the 700 ms timeout"

# The Server record names "localhost": resolved without blocking, probed.
# shellcheck disable=SC2086
probe servername $CA -4 -p "$TB_SERVERNAME_KE" 127.0.0.1
expect servername '.probes[0].ke.ntp_server' localhost
expect servername '.probes[0].ntp[0].status' ok
expect servername '.probes[0].ntp[0].address' 127.0.0.1
finish
