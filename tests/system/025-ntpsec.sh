#!/bin/sh
# NTS-KE and full probes against ntpsec 1.2.2, which runs in a user+network
# namespace of its own (scripts/testbed.sh ntpsec): this script re-runs
# itself inside that namespace.
if [ "${1:-}" != "--inside" ]; then
    . "$(dirname "$0")/lib.sh"
    sh "$TB_SCRIPT" ntpsec sh "$0" --inside
    exit $?
fi
. "$(dirname "$0")/lib.sh"
CA="--ca-file $TB_CA"
KE=${TB_NTPSEC_KE:-4460}

# Key exchange: each AEAD as offered, 8 cookies of 104 bytes for AEAD 15 (the
# cookie carries both keys, so 16 and 17 make them 32 and 64 bytes longer),
# no Port record.
for a in 15 16 17; do
    case $a in 15) size=104 ;; 16) size=136 ;; 17) size=168 ;; esac
    # shellcheck disable=SC2086
    probe "ke$a" --ke-only $CA --aead "$a" -p "$KE" 127.0.0.1
    expect "ke$a" '.probes[0].ke.status' ok
    expect "ke$a" '.probes[0].ke.aead' "$a"
    expect "ke$a" '.probes[0].ke.cookies' 8
    expect "ke$a" '.probes[0].ke.cookie_size' "$size"
    expect "ke$a" '.probes[0].ke.ntp_port' 123
done
# ntpsec 1.2.2 answers 15 to an offer of only 30: not what we offered.
# shellcheck disable=SC2086
probe ke30 --ke-only $CA --aead 30 -p "$KE" 127.0.0.1
expect ke30 '.probes[0].ke.status' aead_unexpected
expect_rc ke30 2
# A pool request: ntpsec closes without a response.
# shellcheck disable=SC2086
probe pool --ke-only $CA --kind pool --token t -p "$KE" 127.0.0.1
expect pool '.probes[0].ke.status' pool_unsupported

# Full probes over v4 and v6, with each AEAD.
for host in 127.0.0.1 ::1; do
    for a in 15 16 17; do
        n=full$a-$(echo "$host" | tr -c 'a-z0-9\n' '_')
        # shellcheck disable=SC2086
        probe "$n" $CA --aead "$a" -p "$KE" "$host"
        expect "$n" '[.probes[0].ntp[].status] | unique | .[]' ok
        expect "$n" '.probes[0].ntp | length' 2
        expect "$n" '[.probes[0].ntp[] | (.offset | fabs) < 0.001] | unique | .[]' true
        expect "$n" '[.probes[0].ntp[] | .cookies_received == .cookies_requested] | unique | .[]' true
        expect "$n" '.probes[0].ntp[0].stratum' 2
        expect "$n" '.probes[0].reason' ok
        expect_rc "$n" 0
    done
done
# --aead all: every AEAD tried alone.  15, 16 and 17 work; to an offer of
# only 30 ntpsec answers 15, which a client supporting only 30 cannot use:
# a fault, reported and counted (not hidden as "not supported").
# shellcheck disable=SC2086
probe all $CA --aead all -p "$KE" 127.0.0.1
expect all '[.probes[] | select(.ke.status == "ok") | .ke.aead] | sort | .[]' "15 16 17"
expect all '[.probes[] | select(.ke.status == "aead_unexpected") | .ke.detail | test("AEAD 15")] | .[]' true
expect all '[.probes[].aead_unsupported] | unique | .[]' false
expect all '.verdict' critical
# The offset agrees within 1 ms with chronyd -Q.
# shellcheck disable=SC2086
probe cross $CA -p "$KE" 127.0.0.1
q=$(sh "$TB_SCRIPT" chrony-q ntpsec 2>/dev/null | sed -n 's/.*System clock wrong by \(-\{0,1\}[0-9.]*\) seconds.*/\1/p')
ours=$(jq -r '.probes[0].ntp[1].offset' "$tmp/cross.json")
if [ -n "$q" ] && python3 -c "import sys; sys.exit(0 if abs(float(sys.argv[1])-float(sys.argv[2])) < 0.001 else 1)" "$ours" "$q"; then
    ok "offset $ours agrees with chronyd -Q '$q' within 1 ms"
else
    bad "offset $ours vs chronyd -Q '$q'"
fi
# A corrupted cookie: ntpsec stays silent, so the exchange times out.
# shellcheck disable=SC2086
probe nak $CA --corrupt-cookie --ntp-timeout 500 -p "$KE" 127.0.0.1
expect nak '.probes[0].ntp[0].status' timeout
expect nak '.probes[0].reason' ntp_timeout
finish
