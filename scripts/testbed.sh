#!/bin/sh
# Loopback test bed with real NTS peers (see shared spec TESTBED.md).
#
#   testbed.sh start              make the PKI, start the chronyd NTS servers,
#                                 unpack ntpsec, write $TESTBED_DIR/testbed.env
#   testbed.sh stop               stop exactly the processes "start" recorded
#   testbed.sh status             show the recorded processes; exit 0 only
#                                 when every chronyd instance runs
#   testbed.sh chrony-q NAME [CA] measure instance NAME once with chronyd -Q as
#                                 an NTS client (CA defaults to $TB_CA)
#   testbed.sh ntpsec CMD [ARG..] run CMD in a private user+net namespace next
#                                 to a running ntpsec 1.2.2 NTS server
#
# TESTBED_DIR defaults to $BUILD/testbed ($BUILD defaults to <top>/build); the
# unpacked ntpsec lives in $NTPSEC_DIR (default $BUILD/ntpsec) so that it is
# fetched once per checkout.  Nothing here needs root or touches the clock.
#
# chrony-q output: chronyd's log goes to stderr unchanged; the offset line
# goes to stdout unchanged, e.g.
#   2026-11-30T07:10:01Z System clock wrong by -0.000003 seconds (ignored)
# exit 0 when such a line was printed, 1 otherwise (e.g. TLS failure, timeout).
#
# chronyd instances (NTP port / NTS-KE port; all on 127.0.0.1 and ::1):
#   sync        11123/14460  local stratum 2, server.crt (the healthy one)
#   unsync      11124/14461  no "local": LI 3, stratum 0
#   stratum10   11125/14462  local stratum 10
#   untrusted   11126/14463  leaf of a CA that clients do not trust
#   expired     11127/14464  leaf signed by the trusted CA, expired
#   wrongname   11128/14465  leaf for DNS:wrong.example, IP:127.0.0.2 only
#   soon        11129/14466  leaf that expires in 5 days
#   servername  11130/14467  like sync, plus "ntsntpserver localhost" (Server record)
#   badport     11131/14468  like sync, but 127.0.0.1:11131/udp is closed: the
#                            KE Port record (11131) leads IPv4 clients nowhere
#                            ([::1]:11131 still answers)
# TB_CLOSED_PORT (14499) has no listener, TCP or UDP.
# TB_PORT_OFFSET=N shifts all of these ports by N (two test beds side by side).
# badport works by holding 127.0.0.1:11131/udp while chronyd starts (it then
# logs "Could not open NTP socket on 127.0.0.1:11131" and keeps only ::1).
# servername: chronyd's own NTS client looks up "localhost." (trailing dot),
# which glibc's /etc/hosts lookup does not resolve, so chrony-q servername fails.
#
# testbed.env exports TB_DIR TB_SCRIPT TB_CA TB_UNTRUSTED_CA TB_CHAIN
# TB_CLOSED_PORT TB_NTPSEC_ROOT (empty if ntpsec is unavailable) TB_INSTANCES
# and per instance TB_<NAME>_NTP _KE _SOCK _DIR (NAME upper case).
# Inside "ntpsec CMD" also TB_NTPSEC_KE=4460 TB_NTPSEC_NTP=123 TB_NTPSEC_DIR
# (config, ntpd.log) TB_NTPSEC_PID; the chronyd instances are not reachable
# from that namespace ("chrony-q ntpsec" works there).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
self=$top/scripts/testbed.sh
BUILD=${BUILD:-$top/build}
TESTBED_DIR=${TESTBED_DIR:-$BUILD/testbed}
NTPSEC_DIR=${NTPSEC_DIR:-$BUILD/ntpsec}
case $TESTBED_DIR in /*) ;; *) TESTBED_DIR=$(pwd)/$TESTBED_DIR ;; esac
case $NTPSEC_DIR in /*) ;; *) NTPSEC_DIR=$(pwd)/$NTPSEC_DIR ;; esac
D=$TESTBED_DIR
ENVFILE=$D/testbed.env
CLOSED_PORT=14499

# name ntp-port ke-port cert-base local-stratum(- for none)
INSTANCES="sync 11123 14460 server 2
unsync 11124 14461 server -
stratum10 11125 14462 server 10
untrusted 11126 14463 untrusted 2
expired 11127 14464 expired 2
wrongname 11128 14465 wrongname 2
soon 11129 14466 soon 2
servername 11130 14467 server 2
badport 11131 14468 server 2"

# TB_PORT_OFFSET (default 0) shifts every port above, so that two test beds
# (e.g. two work trees) can run side by side; the tests read the ports from
# testbed.env.  Each test bed needs its own TESTBED_DIR.
TB_PORT_OFFSET=${TB_PORT_OFFSET:-0}
case $TB_PORT_OFFSET in
''|*[!0-9]*) echo "testbed: TB_PORT_OFFSET must be a number" >&2; exit 1 ;;
esac
if [ "$TB_PORT_OFFSET" -ne 0 ]; then
    CLOSED_PORT=$((CLOSED_PORT + TB_PORT_OFFSET))
    INSTANCES=$(echo "$INSTANCES" | awk -v o="$TB_PORT_OFFSET" '{ $2 += o; $3 += o; print }')
fi

say() { echo "testbed: $*"; }
die() { echo "testbed: ERROR: $*" >&2; exit 1; }
upper() { echo "$1" | tr '[:lower:]' '[:upper:]'; }

# ---------------------------------------------------------------- processes
cmdline() { # pid -> its command line with spaces, or nothing
    if [ -r "/proc/$1/cmdline" ]; then tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; fi
}

alive() { # pid: running and not a zombie
    [ -r "/proc/$1/stat" ] || return 1
    al_st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$al_st" ] && [ "$al_st" != Z ] && [ "$al_st" != X ]
}

stop_pidfile() { # pidfile pattern: kill the pid if its command line matches
    sp_pf=$1 sp_pat=$2
    [ -f "$sp_pf" ] || return 0
    sp_pid=$(cat "$sp_pf" 2>/dev/null || true)
    case $sp_pid in ''|*[!0-9]*) rm -f "$sp_pf"; return 0 ;; esac
    sp_cl=$(cmdline "$sp_pid")
    case $sp_cl in
    *"$sp_pat"*)
        if alive "$sp_pid"; then
            kill "$sp_pid" 2>/dev/null || true
            sp_i=0
            while alive "$sp_pid" && [ $sp_i -lt 50 ]; do sleep 0.1; sp_i=$((sp_i + 1)); done
            if alive "$sp_pid"; then
                say "pid $sp_pid did not exit on SIGTERM, sending SIGKILL"
                kill -9 "$sp_pid" 2>/dev/null || true
                sp_i=0
                while alive "$sp_pid" && [ $sp_i -lt 30 ]; do sleep 0.1; sp_i=$((sp_i + 1)); done
            fi
            say "stopped pid $sp_pid ($sp_pat)"
        fi ;;
    *) [ -z "$sp_cl" ] || say "pid $sp_pid is no longer ours ($sp_cl), left alone" ;;
    esac
    rm -f "$sp_pf"
}

do_stop() {
    [ -d "$D" ] || return 0
    echo "$INSTANCES" | while read -r name _; do
        stop_pidfile "$D/$name/testbed.pid" "$D/$name/chronyd.conf"
    done
    stop_pidfile "$D/badport/holder.pid" "testbed-port-holder"
    return 0
}

# ---------------------------------------------------------------- ports
listening_tcp() { # port [pid]
    out=$(ss -Hltnp "sport = :$1" 2>/dev/null) || return 1
    [ -n "$out" ] || return 1
    [ -z "${2:-}" ] || echo "$out" | grep -q "pid=$2,"
}

bound_udp() { # port [addr-pattern]
    out=$(ss -Hlun "sport = :$1" 2>/dev/null) || return 1
    [ -n "$out" ] || return 1
    [ -z "${2:-}" ] || echo "$out" | awk '{print $4}' | grep -q "^$2:"
}

port_free() { # port: nothing listens on TCP nor UDP
    ! listening_tcp "$1" && ! bound_udp "$1"
}

# ---------------------------------------------------------------- PKI
mkpki() {
    p=$D/pki
    rm -rf "$p"
    mkdir -p "$p/newcerts"
    : >"$p/index.txt"
    echo 1000 >"$p/serial"
    cat >"$p/ca.cnf" <<EOF
[ ca ]
default_ca = tb
[ tb ]
dir = $p
database = $p/index.txt
new_certs_dir = $p/newcerts
serial = $p/serial
default_md = sha256
policy = pol
copy_extensions = none
unique_subject = no
email_in_dn = no
[ pol ]
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ wrong ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example,IP:127.0.0.2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }
    mkca() { # base cn
        newkey "$D/$1.key"
        openssl req -x509 -new -key "$D/$1.key" -out "$D/$1.crt" -days 365 -subj "/CN=$2" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
            -addext subjectKeyIdentifier=hash 2>/dev/null
    }
    leaf() { # base ca-base extensions cn openssl-ca-validity-args...
        b=$1 ca=$2 ext=$3 cn=$4
        shift 4
        newkey "$D/$b.key"
        openssl req -new -key "$D/$b.key" -out "$p/$b.csr" -subj "/CN=$cn" 2>/dev/null
        openssl ca -batch -config "$p/ca.cnf" -cert "$D/$ca.crt" -keyfile "$D/$ca.key" \
            -in "$p/$b.csr" -out "$D/$b.crt" -extensions "$ext" -notext "$@" >"$p/$b.log" 2>&1 ||
            { cat "$p/$b.log" >&2; die "could not sign $b.crt"; }
    }
    now=$(date -u +%s)
    past() { date -u -d "@$((now - $1 * 86400))" +%Y%m%d%H%M%SZ; }
    mkca ca "ntspool test CA"
    mkca untrusted-ca "ntspool untrusted CA"
    leaf server ca leaf localhost -days 30
    leaf untrusted untrusted-ca leaf localhost -days 30
    leaf expired ca leaf localhost -startdate "$(past 30)" -enddate "$(past 1)"
    leaf soon ca leaf localhost -days 5
    leaf wrongname ca wrong wrong.example -days 30
    cat "$D/server.crt" "$D/ca.crt" >"$D/chain.crt"
    openssl verify -CAfile "$D/ca.crt" "$D/server.crt" >/dev/null || die "server.crt does not verify"
    ! openssl verify -CAfile "$D/ca.crt" "$D/expired.crt" >/dev/null 2>&1 || die "expired.crt verifies"
    openssl x509 -in "$D/soon.crt" -noout -checkend $((4 * 86400)) >/dev/null || die "soon.crt expires too early"
    ! openssl x509 -in "$D/soon.crt" -noout -checkend $((14 * 86400)) >/dev/null || die "soon.crt lives too long"
    say "PKI made in $D (ca, untrusted-ca, server, untrusted, expired, soon, wrongname, chain)"
}

# ---------------------------------------------------------------- chronyd
chrony_conf() { # name ntp ke cert stratum
    dir=$D/$1
    cat <<EOF
# testbed instance $1
pidfile $dir/chronyd.pid
bindcmdaddress $dir/chronyd.sock
cmdport 0
user $(id -un)
bindaddress 127.0.0.1
bindaddress ::1
port $2
ntsport $3
allow 127.0.0.1
allow ::1
ntsservercert $D/$4.crt
ntsserverkey $D/$4.key
ntsdumpdir $dir
ntsprocesses 0
driftfile $dir/drift
EOF
    [ "$5" = - ] || echo "local stratum $5"
    [ "$1" != servername ] || echo "ntsntpserver localhost"
}

# badport: hold 127.0.0.1:NTP/udp while chronyd starts, so that chronyd only
# gets its [::1] NTP socket ("Could not open NTP socket on 127.0.0.1:PORT")
# yet advertises PORT in its NTS-KE Port record; released once KE listens.
start_holder() { # port
    command -v python3 >/dev/null || die "python3 is needed for the badport instance (scripts/setup.sh)"
    rm -f "$D/badport/holder.ready"
    python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
time.sleep(60)
' "$1" "$D/badport/holder.ready" testbed-port-holder </dev/null >"$D/badport/holder.log" 2>&1 &
    echo $! >"$D/badport/holder.pid"
    i=0
    while [ ! -e "$D/badport/holder.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e "$D/badport/holder.ready" ] || { cat "$D/badport/holder.log" >&2; die "port holder did not start"; }
}

start_chrony() { # name ntp ke cert stratum
    dir=$D/$1
    mkdir -p "$dir"
    chmod 700 "$dir"
    chrony_conf "$@" >"$dir/chronyd.conf"
    for port in "$2" "$3"; do
        port_free "$port" || die "port $port (instance $1) is already in use:
$(ss -Hltunp "sport = :$port" 2>&1)"
    done
    [ "$1" != badport ] || start_holder "$2"
    chronyd -U -x -d -f "$dir/chronyd.conf" </dev/null >"$dir/chronyd.log" 2>&1 &
    echo $! >"$dir/testbed.pid"
}

wait_chrony() { # name ntp ke ...
    dir=$D/$1
    pid=$(cat "$dir/testbed.pid")
    i=0
    while [ $i -lt 100 ]; do
        alive "$pid" || break
        listening_tcp "$3" "$pid" && break
        sleep 0.1
        i=$((i + 1))
    done
    if ! alive "$pid" || ! listening_tcp "$3" "$pid"; then
        echo "---- $dir/chronyd.log" >&2
        cat "$dir/chronyd.log" >&2 || true
        die "chronyd instance $1 did not listen on NTS-KE port $3"
    fi
    if [ "$1" = badport ]; then
        stop_pidfile "$dir/holder.pid" testbed-port-holder >/dev/null
        grep -q "Could not open NTP socket on 127.0.0.1:$2" "$dir/chronyd.log" ||
            die "badport: chronyd bound 127.0.0.1:$2 after all"
        ! bound_udp "$2" '127\.0\.0\.1' || die "badport: 127.0.0.1:$2/udp is still bound"
        say "instance $1 pid $pid: KE 127.0.0.1:$3, Port record $2 (closed on 127.0.0.1, open on ::1)"
    else
        bound_udp "$2" '127\.0\.0\.1' || die "instance $1: NTP port 127.0.0.1:$2 not bound"
        say "instance $1 pid $pid: KE $3, NTP $2"
    fi
}

# ---------------------------------------------------------------- ntpsec
ntpsec_root() { echo "$NTPSEC_DIR/root"; }

ensure_ntpsec() {
    r=$(ntpsec_root)
    if [ ! -x "$r/usr/sbin/ntpd" ]; then
        mkdir -p "$NTPSEC_DIR/deb"
        deb=$(find "$NTPSEC_DIR/deb" -name 'ntpsec_*.deb' | head -n 1)
        if [ -z "$deb" ]; then
            say "fetching ntpsec with apt-get download (once per checkout)"
            # _apt cannot write into a private directory; download as we are.
            if ! (cd "$NTPSEC_DIR/deb" && apt-get download -q -o APT::Sandbox::User="$(id -un)" ntpsec) >"$NTPSEC_DIR/download.log" 2>&1; then
                if [ "$(id -u)" -eq 0 ]; then
                    apt-get update -q >>"$NTPSEC_DIR/download.log" 2>&1 || true
                    (cd "$NTPSEC_DIR/deb" && apt-get download -q -o APT::Sandbox::User=root ntpsec) >>"$NTPSEC_DIR/download.log" 2>&1 || true
                fi
            fi
            deb=$(find "$NTPSEC_DIR/deb" -name 'ntpsec_*.deb' | head -n 1)
            [ -n "$deb" ] || { cat "$NTPSEC_DIR/download.log" >&2; return 1; }
        fi
        rm -rf "$r.tmp"
        dpkg-deb -x "$deb" "$r.tmp" || return 1
        rm -rf "$r"
        mv "$r.tmp" "$r"
    fi
    v=$("$r/usr/sbin/ntpd" --version 2>&1) || { echo "$v" >&2; return 1; }
    say "ntpsec: $v ($r)"
}

write_env() {
    ntpsec=$1
    {
        echo "# written by scripts/testbed.sh start; source it"
        echo "export TB_DIR='$D'"
        echo "export TB_SCRIPT='$self'"
        echo "export TB_CA='$D/ca.crt'"
        echo "export TB_UNTRUSTED_CA='$D/untrusted-ca.crt'"
        echo "export TB_CHAIN='$D/chain.crt'"
        echo "export TB_CLOSED_PORT=$CLOSED_PORT"
        echo "export TB_NTPSEC_ROOT='$ntpsec'"
        echo "$INSTANCES" | while read -r name w_ntp w_ke _; do
            n=$(upper "$name")
            echo "export TB_${n}_NTP=$w_ntp TB_${n}_KE=$w_ke TB_${n}_SOCK='$D/$name/chronyd.sock' TB_${n}_DIR='$D/$name'"
        done
        echo "export TB_INSTANCES='$(echo "$INSTANCES" | cut -d' ' -f1 | tr '\n' ' ' | sed 's/ $//')'"
    } >"$ENVFILE.tmp"
    mv "$ENVFILE.tmp" "$ENVFILE"
}

do_start() {
    for t in openssl chronyd ss unshare; do
        command -v "$t" >/dev/null || die "$t not found: run scripts/setup.sh"
    done
    do_stop
    mkdir -p "$D"
    [ -O "$D" ] || die "$D is not owned by $(id -un)"
    chmod 700 "$D"
    rm -f "$ENVFILE"
    for name in $(echo "$INSTANCES" | cut -d' ' -f1); do rm -rf "${D:?}/$name"; done
    rm -rf "$D"/ntpsec-run.*
    port_free $CLOSED_PORT || die "TB_CLOSED_PORT $CLOSED_PORT is in use"
    # on any failure below, stop whatever this run started
    trap 'st=$?; [ $st -eq 0 ] || do_stop; exit $st' EXIT
    mkpki
    # start them all, then wait for each
    echo "$INSTANCES" | while read -r name i_ntp i_ke cert stratum; do
        start_chrony "$name" "$i_ntp" "$i_ke" "$cert" "$stratum"
    done
    echo "$INSTANCES" | while read -r name i_ntp i_ke cert stratum; do
        wait_chrony "$name" "$i_ntp" "$i_ke" "$cert" "$stratum"
    done
    if ensure_ntpsec; then
        write_env "$(ntpsec_root)"
    else
        say "WARNING: ntpsec could not be fetched or run; 'testbed.sh ntpsec' will exit 77"
        write_env ""
    fi
    trap - EXIT
    say "ready: . $ENVFILE"
}

load_env() {
    [ -r "$ENVFILE" ] || die "$ENVFILE missing: run 'testbed.sh start' first"
    # shellcheck disable=SC1090
    . "$ENVFILE"
}

# ---------------------------------------------------------------- chrony-q
do_chrony_q() { # name [ca]
    [ $# -ge 1 ] || die "usage: testbed.sh chrony-q NAME [CA]"
    case $1 in *[!a-z0-9_]*|'') die "bad instance name $1" ;; esac
    if [ -z "${TB_DIR:-}" ]; then load_env; fi
    n=$(upper "$1")
    eval "ntp=\${TB_${n}_NTP:-} ke=\${TB_${n}_KE:-}"
    if [ -z "$ntp" ] || [ -z "$ke" ]; then die "unknown instance $1"; fi
    ca=${2:-$TB_CA}
    out=$(mktemp)
    set +e
    chronyd -Q -U -u "$(id -un)" -t "${TB_Q_TIMEOUT:-10}" \
        "server 127.0.0.1 port $ntp nts ntsport $ke iburst maxsamples 1" \
        "ntstrustedcerts $ca" nosystemcert "pidfile $out.pid" \
        "cmdport 0" "bindcmdaddress /" >"$out" 2>&1
    st=$?
    set -e
    cat "$out" >&2
    line=$(grep 'System clock wrong by' "$out" || true)
    rm -f "$out" "$out.pid"
    [ -n "$line" ] || { echo "testbed: chrony-q $1: no offset (chronyd status $st)" >&2; return 1; }
    echo "$line"
}

# ---------------------------------------------------------------- ntpsec
do_ntpsec() {
    [ $# -ge 1 ] || die "usage: testbed.sh ntpsec CMD [ARGS...]"
    load_env
    if [ -z "${TB_NTPSEC_ROOT:-}" ] || [ ! -x "$TB_NTPSEC_ROOT/usr/sbin/ntpd" ]; then
        echo "testbed: ntpsec is not available (see testbed start log)" >&2
        exit 77
    fi
    run=$(mktemp -d "$D/ntpsec-run.XXXXXX")
    export TESTBED_DIR="$D" NTPSEC_DIR
    exec unshare --user --map-root-user --net sh "$self" __ntpsec-inner "$run" "$@"
}

ntp_probe() { # addr port: prints "LI STRATUM" of an NTP mode 3 query
    python3 - "$1" "$2" <<'EOF'
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(0.5)
try:
    s.sendto(b"\x23" + 47 * b"\0", (sys.argv[1], int(sys.argv[2])))
    d = s.recv(512)
except OSError as e:
    print("error", e)
    sys.exit(1)
print(d[0] >> 6, d[1])
EOF
}

do_ntpsec_inner() { # rundir cmd...
    run=$1
    shift
    load_env
    ip link set lo up
    r=$TB_NTPSEC_ROOT
    cat >"$run/ntp.conf" <<EOF
# testbed ntpsec server (inside a private network namespace)
driftfile $run/drift
statsdir $run/
nts enable
nts cert $D/server.crt
nts key $D/server.key
nts cookie $run/nts-keys
tos orphan 2 orphanwait 0
disable ntp
disable kernel
interface ignore wildcard
interface listen 127.0.0.1
interface listen ::1
EOF
    "$r/usr/sbin/ntpd" -n -c "$run/ntp.conf" -l "$run/ntpd.log" -p "$run/ntpd.pid" \
        </dev/null >"$run/ntpd.out" 2>&1 &
    npid=$!
    echo "$npid" >"$run/testbed.pid"
    trap 'kill "$npid" 2>/dev/null || true' EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    fail() {
        echo "---- $run/ntpd.log" >&2
        cat "$run/ntpd.log" "$run/ntpd.out" >&2 2>/dev/null || true
        kill "$npid" 2>/dev/null || true
        die "$*"
    }
    i=0
    while [ $i -lt 100 ]; do
        alive "$npid" || break
        listening_tcp 4460 && bound_udp 123 '127\.0\.0\.1' && break
        sleep 0.1
        i=$((i + 1))
    done
    if ! listening_tcp 4460 || ! bound_udp 123 '127\.0\.0\.1'; then fail "ntpd did not bind 4460/tcp and 123/udp"; fi
    i=0 res=""
    while [ $i -lt 50 ] && alive "$npid"; do
        res=$(ntp_probe 127.0.0.1 123 2>&1 || true)
        [ "$res" = "0 2" ] && break
        sleep 0.2
        i=$((i + 1))
    done
    [ "$res" = "0 2" ] || fail "ntpd does not answer as a synchronised stratum 2 server (LI, stratum: $res)"
    ke=$(timeout 10 openssl s_client -connect 127.0.0.1:4460 -alpn ntske/1 -tls1_3 \
        -CAfile "$TB_CA" -verify_return_error </dev/null 2>&1 || true)
    echo "$ke" | grep -q '^ALPN protocol: ntske/1' || { echo "$ke" >&2; fail "ntpd NTS-KE does not answer"; }
    export TB_NTPSEC_KE=4460 TB_NTPSEC_NTP=123 TB_NTPSEC_DIR="$run" TB_NTPSEC_PID="$npid"
    set +e
    "$@"
    st=$?
    set -e
    kill "$npid" 2>/dev/null || true
    wait "$npid" 2>/dev/null || true
    exit $st
}

# ---------------------------------------------------------------- main
cmd=${1:-}
[ $# -eq 0 ] || shift
case $cmd in
start) do_start ;;
stop) do_stop; say "stopped" ;;
status)
    # Exit 0 only when every chronyd instance runs.
    up=0
    for pf in "$D"/*/testbed.pid; do
        [ -f "$pf" ] || continue
        pid=$(cat "$pf")
        if alive "$pid"; then
            echo "$(basename "$(dirname "$pf")") $pid $(cmdline "$pid")"
            up=$((up + 1))
        fi
    done
    [ "$up" -ge "$(echo "$INSTANCES" | wc -l)" ] ;;
chrony-q) do_chrony_q "$@" ;;
ntpsec) do_ntpsec "$@" ;;
__ntpsec-inner) do_ntpsec_inner "$@" ;;
*) echo "usage: testbed.sh start|stop|status|chrony-q NAME [CA]|ntpsec CMD [ARGS...]" >&2; exit 2 ;;
esac
