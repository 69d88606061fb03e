# Helpers of the web page tests (06x), sourced after lib.sh: a browser with
# a cookie jar in curl.
#
# web NAME JAR METHOD PATH [FORM-DATA] [EXTRA CURL ARGS...]: one request to
# $URL with cookie jar JAR ("" for none; it is read and written); status in
# $tmp/NAME.rc, body in $tmp/NAME.html, headers in $tmp/NAME.hdr.
# A POST to a form filled in before a session (/login, /register,
# /set-password) without a csrf field gets the form's pre-session pair
# first, as a browser has it: the form's token in the data, its cookie in
# JAR (or, without a jar, for this request only).
web() {
    name=$1 jar=$2 method=$3 path=$4 data=${5:-}
    if [ $# -ge 5 ]; then shift 5; else shift $#; fi
    set -- -s -D "$tmp/$name.hdr" -o "$tmp/$name.html" -w '%{http_code}' -X "$method" \
        --max-time 20 "$@"
    case "$method $path&$data" in
    "POST /login&"* | "POST /register&"* | "POST /set-password&"*)
        case "&$data" in
        *"&csrf="*) ;;
        *)
            pre_pair "$name.pre" "$path"
            data="$data&csrf=$PRE_TOKEN"
            if [ -n "$jar" ]; then grep "$PRE_COOKIE" "$tmp/$name.pre.jar" >>"$tmp/$jar.jar"
            else set -- "$@" -b "$tmp/$name.pre.jar"; fi
            ;;
        esac
        ;;
    esac
    [ -n "$jar" ] && set -- "$@" -b "$tmp/$jar.jar" -c "$tmp/$jar.jar"
    [ -n "$data" ] && set -- "$@" --data-raw "$data"
    curl "$@" "$URL$path" >"$tmp/$name.rc" 2>/dev/null
}

# code_is NAME WANT [DESCRIPTION]
code_is() {
    got=$(cat "$tmp/$1.rc")
    if [ "$got" = "$2" ]; then ok "${3:-$1}: HTTP $2"; else
        bad "${3:-$1}: HTTP $got, want $2"
        sed -n '/<main>/,/<\/main>/p' "$tmp/$1.html" | head -n 8
    fi
}

# has NAME TEXT [DESCRIPTION]: the body contains TEXT (fixed string)
has() {
    if grep -qF -- "$2" "$tmp/$1.html"; then ok "${3:-$1: has $2}"; else bad "${3:-$1: has $2}"; fi
}
# lacks NAME TEXT [DESCRIPTION]
lacks() {
    if grep -qF -- "$2" "$tmp/$1.html"; then bad "${3:-$1: lacks $2}"; else ok "${3:-$1: lacks $2}"; fi
}

# header_is NAME HEADER VALUE
header_is() {
    got=$(grep -i "^$2:" "$tmp/$1.hdr" | head -n 1 | sed 's/^[^:]*: //' | tr -d '\r')
    if [ "$got" = "$3" ]; then ok "$1: $2: $3"; else bad "$1: $2 is '$got', want '$3'"; fi
}

# location_is NAME PATH: a 303 to PATH
location_is() {
    code_is "$1" 303
    header_is "$1" Location "$2"
}

# secure_page NAME [personal]: the security headers of every page, and no
# inline script or style in the body
CSP="default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
secure_page() {
    header_is "$1" Content-Security-Policy "$CSP"
    header_is "$1" X-Frame-Options DENY
    header_is "$1" Referrer-Policy same-origin
    header_is "$1" X-Content-Type-Options nosniff
    [ "${2:-}" = personal ] && header_is "$1" Cache-Control no-store
    if grep -qiE '<script|style=|<style|javascript:' "$tmp/$1.html"; then
        bad "$1: inline script or style"
    else
        ok "$1: no inline script or style"
    fi
}

# csrf_of NAME: the CSRF token of the first form of a page
csrf_of() {
    grep -o 'name="csrf" value="[0-9a-f]*"' "$tmp/$1.html" | head -n 1 | sed 's/.*value="//; s/"$//'
}

# pre_pair NAME PATH: GET the form at PATH with a fresh cookie jar
# $tmp/NAME.jar; its pre-session token in $PRE_TOKEN, the cookie's value in
# $PRE_NONCE (the jar keeps it).
PRE_COOKIE=ntspool_pre
pre_pair() {
    rm -f "$tmp/$1.jar"
    curl -s -c "$tmp/$1.jar" -o "$tmp/$1.html" --max-time 20 "$URL$2" 2>/dev/null
    PRE_TOKEN=$(csrf_of "$1")
    # shellcheck disable=SC2034 # for the tests
    PRE_NONCE=$(awk -v c="$PRE_COOKIE" '$6 == c { print $7 }' "$tmp/$1.jar" | tail -n 1)
}

# urlenc TEXT: TEXT as a form value
urlenc() {
    case $1 in
    *[!A-Za-z0-9@._-]*)
        python3 -c 'import sys, urllib.parse; print(urllib.parse.quote_plus(sys.argv[1]))' "$1" ;;
    *) printf '%s\n' "$1" | sed 's/@/%40/g' ;;
    esac
}

# login NAME JAR EMAIL PASSWORD: POST /login
login() {
    web "$1" "$2" POST /login "email=$(urlenc "$3")&password=$(urlenc "$4")"
}
