#!/bin/sh
# System test: the Time sources pages, with curl as the browser:
#  - the add form: each validation error next to its field (invalid host,
#    invalid port, both, duplicate, only private addresses);
#  - the token page answers the POST itself: the three configurations, the
#    token shown once; a reload (GET) and the other pages never show it;
#  - Rekey and Delete: a confirmation page (GET), then the POST with the CSRF
#    token does it (403 without);
#  - another user's source is 404 on the list, details, rekey and delete;
#  - a hostile monitor name (made by an admin) is escaped on the details
#    page; a hostile host name cannot be added at all;
#  - the details page: the SVG graph, the score tables, the diagnosis, the
#    samples table, filters by kind and monitor, paging.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web-lib.sh"

D=$BIN/ntspoold
need_tools jq curl python3 unshare
DPID=""
stop_at_exit DPID

write_conf() { # allow_private
    ntspoold_conf <<EOC
[monitor]
interval = 2
ke_timeout = 2
ntp_timeout = 0.5
ca_file = $TB_CA
allow_private = $1
clock_check = no
[log]
level = info
EOC
}
write_conf no
ntspoold_start "$CONF" "$tmp/d.log" "$URL" || exit 1
PW=correct-horse-battery

echo "== accounts: an admin, alice and bob"
ADMIN=admin@example.org
ATOK=$("$D" -c "$CONF" user-add "$ADMIN" --admin 2>/dev/null)
web ad1 adm POST /set-password "email=$(urlenc "$ADMIN")&token=$ATOK&password=$PW&password2=$PW"
location_is ad1 /time-sources
web a1 a POST /register "email=alice%40example.org&password=$PW&password2=$PW"
location_is a1 /time-sources
web b1 b POST /register "email=bob%40example.org&password=$PW&password2=$PW"
location_is b1 /time-sources

echo "== the empty list"
web l0 a GET /time-sources
code_is l0 200 "time sources page"
secure_page l0 personal
has l0 'No time sources yet' "empty state"
has l0 '<label for="f-host">' "host field labelled"
has l0 '<label for="f-port">' "port field labelled"
CSRF_A=$(csrf_of l0)

echo "== validation errors next to the field"
add() { # NAME HOST PORT [CSRF]
    web "$1" a POST /time-sources "csrf=${4:-$CSRF_A}&host=$(urlenc "$2")&port=$(urlenc "$3")"
}
add v1 'not a host!' ''
code_is v1 400 "invalid host"
has v1 'id="e-host"' "the host error is next to the host field"
lacks v1 'id="e-port"' "no port error"
has v1 'value="not a host!"' "the host typed is shown again"
add v2 192.0.2.1 ''
code_is v2 400 "an IP address is not a host name"
has v2 'no IP address' "says why"
add v3 time.example.org 65536
code_is v3 400 "port 65536"
has v3 'id="e-port"' "the port error is next to the port field"
lacks v3 'id="e-host"' "no host error"
add v4 time.example.org 0
code_is v4 400 "port 0"
add v5 time.example.org abc
code_is v5 400 "port abc"
add v6 '-bad-.example.org' '-1'
code_is v6 400 "bad host and bad port"
has v6 'id="e-host"' "both errors: host"
has v6 'id="e-port"' "both errors: port"
hostile='<script>alert(1)</script>.example.org'
add v7 "$hostile" ''
code_is v7 400 "a hostile host name is refused"
lacks v7 '<script>alert' "and shown escaped"
has v7 '&lt;script&gt;alert(1)&lt;/script&gt;.example.org' "escaped in the field"
add v8 localhost "$TB_SYNC_KE"
code_is v8 400 "localhost resolves only to loopback (allow_private = no)"
has v8 'only to loopback, private or link-local' "says why"
has v8 'id="e-host"' "next to the host field"
add v9 time.example.org '' 0000
code_is v9 403 "add without the right CSRF token"

write_conf yes
kill -HUP "$DPID"
sleep 1

echo "== add: the token page"
add t1 LocalHost. "$TB_SYNC_KE"
code_is t1 200 "added: the POST answers with the token page"
secure_page t1 personal
[ -z "$(grep -i '^Location:' "$tmp/t1.hdr")" ] && ok "no redirect (no URL carries the token)" ||
    bad "the add redirected"
TOKEN1=$(grep -o 'id="token">[0-9a-f]\{64\}<' "$tmp/t1.html" | sed 's/.*>\([0-9a-f]*\)</\1/')
[ ${#TOKEN1} -eq 64 ] && ok "the token is shown" || bad "no token on the page"
[ "$(grep -c 'class="secret"' "$tmp/t1.html")" = 1 ] && ok "the token is shown once" ||
    bad "token element count"
[ "$(grep -o "$TOKEN1" "$tmp/t1.html" | wc -l)" = 4 ] &&
    ok "the token appears in the token box and once in each configuration" ||
    bad "the token appears $(grep -o "$TOKEN1" "$tmp/t1.html" | wc -l) times"
has t1 'accepted-pool-authentication-tokens = [&quot;'"$TOKEN1"'&quot;]' "ntpd-rs configuration"
has t1 'ntsauthtokenfile /etc/chrony/nts-pool.tokens' "chrony configuration"
has t1 'nts poolauth /etc/ntpsec/nts-pool.tokens' "NTPsec configuration"
has t1 'Shown only this once' "the page says the token is shown once"
has t1 'The first probe runs within seconds' "what happens next"
has t1 'once every kind is above 10' "what happens next"
SRC=$(grep -o 'href="/time-sources/[0-9]*"' "$tmp/t1.html" | head -n 1 | tr -dc 0-9)
[ -n "$SRC" ] && ok "the token page links to the details page" || bad "no details link"

echo "== a reload never shows the token"
web t2 a GET /time-sources
code_is t2 200 "the list"
lacks t2 "$TOKEN1" "the list does not show the token"
has t2 "href=\"/time-sources/$SRC\">localhost:$TB_SYNC_KE</a>" "the list links host:port to the details"
has t2 'href="/time-sources/'"$SRC"'/rekey"' "Rekey action"
has t2 'href="/time-sources/'"$SRC"'/delete"' "Delete action"
web t3 a GET "/time-sources/$SRC"
lacks t3 "$TOKEN1" "the details page does not show the token"
add t4 localhost "$TB_SYNC_KE"
code_is t4 409 "the same host and port again"
has t4 'already registered' "duplicate said next to the field"
has t4 'id="e-host"' "duplicate error next to the host field"

echo "== rekey: confirmation, then POST with the CSRF token"
web r1 a GET "/time-sources/$SRC/rekey"
code_is r1 200 "rekey confirmation page"
secure_page r1 personal
has r1 "action=\"/time-sources/$SRC/rekey\"" "the confirmation form posts to rekey"
lacks r1 "$TOKEN1" "no token on the confirmation"
web r2 a POST "/time-sources/$SRC/rekey" ""
code_is r2 403 "rekey without the CSRF token"
web r3 a POST "/time-sources/$SRC/rekey" "csrf=$CSRF_A"
code_is r3 200 "rekeyed: the token page"
TOKEN2=$(grep -o 'id="token">[0-9a-f]\{64\}<' "$tmp/r3.html" | sed 's/.*>\([0-9a-f]*\)</\1/')
[ ${#TOKEN2} -eq 64 ] && [ "$TOKEN2" != "$TOKEN1" ] && ok "a new token is shown" ||
    bad "rekey token '$TOKEN2'"
[ "$(grep -o "$TOKEN2" "$tmp/r3.html" | wc -l)" = 4 ] && ok "with the three configurations" ||
    bad "rekey page configurations"
web r4 a GET "/time-sources/$SRC/rekey"
lacks r4 "$TOKEN2" "a GET of the rekey path does not show it again"

echo "== delete: confirmation, then POST with the CSRF token"
add d0 localhost 1
code_is d0 200 "a second source"
DEL=$(grep -o 'href="/time-sources/[0-9]*"' "$tmp/d0.html" | head -n 1 | tr -dc 0-9)
web d1 a GET "/time-sources/$DEL/delete"
code_is d1 200 "delete confirmation page"
has d1 "action=\"/time-sources/$DEL/delete\"" "the confirmation form posts to delete"
web d2 a POST "/time-sources/$DEL/delete" "csrf=bad"
code_is d2 403 "delete with a wrong CSRF token"
web d3 a GET /time-sources
has d3 "localhost:1<" "still listed after the refused delete"
web d4 a POST "/time-sources/$DEL/delete" "csrf=$CSRF_A"
location_is d4 "/time-sources?deleted=1"
web d5 a GET "/time-sources?deleted=1"
has d5 'was deleted' "the list says so"
lacks d5 "localhost:1<" "no longer listed"
web d6 a GET "/time-sources/$DEL"
code_is d6 404 "the deleted source's details"

echo "== another user's source is 404 everywhere"
web o0 b GET /time-sources
lacks o0 "localhost:$TB_SYNC_KE" "bob's list does not show alice's source"
CSRF_B=$(csrf_of o0)
for p in "" /rekey /delete; do
    n=o$(echo "get$p" | tr -dc a-z)
    web "$n" b GET "/time-sources/$SRC$p"
    code_is "$n" 404 "bob GET /time-sources/{alice's}$p"
    web "${n}p" b POST "/time-sources/$SRC$p" "csrf=$CSRF_B"
    code_is "${n}p" 404 "bob POST /time-sources/{alice's}$p"
done
web o9 b GET "/time-sources/999999"
code_is o9 404 "a source that does not exist"
web o10 a GET "/time-sources/$SRC/other"
code_is o10 404 "an unknown sub-path"
web o11 "" GET "/time-sources/$SRC"
location_is o11 /login

echo "== a hostile monitor name, escaped on the details page"
web m0 adm GET /admin/monitors
CSRF_ADM=$(csrf_of m0)
mname='<script>"&'"'"
web m1 adm POST /admin/monitors "csrf=$CSRF_ADM&name=$(urlenc "$mname")"
code_is m1 200 "admin made the monitor"

echo "== the details page"
# Samples: 4 kinds every 2 s; paging needs more than 50.
end=$(($(date +%s) + 90))
while :; do
    web s0 a GET "/api/v1/time-sources/$SRC/samples?limit=1000"
    nsamp=$(jq '.samples | length' "$tmp/s0.html" 2>/dev/null || echo 0)
    [ "${nsamp:-0}" -gt 60 ] && break
    [ "$(date +%s)" -gt "$end" ] && break
    sleep 1
done
[ "${nsamp:-0}" -gt 60 ] && ok "$nsamp samples stored" || bad "only ${nsamp:-0} samples"
web s1 a GET "/time-sources/$SRC"
code_is s1 200 "details page"
secure_page s1 personal
has s1 '<svg' "the SVG graph, inline"
has s1 '<table class="samples">' "the samples table"
has s1 'Current scores' "the scores per kind"
has s1 'Per monitor' "the scores per monitor"
has s1 '>builtin<' "the built-in monitor is named"
has s1 'Latest failure of each kind' "the diagnosis section"
has s1 '&lt;script&gt;&quot;&amp;&#39;' "the hostile monitor name is escaped"
lacks s1 '<script>"&' "never raw"
has s1 'rel="next"' "a link to the next page"
lacks s1 'rel="prev"' "no previous page on page 1"
rows() { sed -n '/<table class="samples">/,/<\/table>/p' "$tmp/$1.html" | grep -c '^<tr><td'; }
[ "$(rows s1)" = 50 ] && ok "50 samples per page" || bad "$(rows s1) samples on page 1"
web s2 a GET "/time-sources/$SRC?page=2"
code_is s2 200 "page 2"
has s2 'rel="prev"' "page 2 links back"
has s2 'Page 2' "says page 2"
first1=$(sed -n '/<table class="samples">/,/<\/table>/p' "$tmp/s1.html" | grep '^<tr><td' | head -n 1)
first2=$(sed -n '/<table class="samples">/,/<\/table>/p' "$tmp/s2.html" | grep '^<tr><td' | head -n 1)
[ -n "$first2" ] && [ "$first1" != "$first2" ] && ok "page 2 shows other samples" || bad "paging"
web s3 a GET "/time-sources/$SRC?kind=nts-v4&monitor=&page=1"
code_is s3 200 "filter by kind"
kinds=$(sed -n '/<table class="samples">/,/<\/table>/p' "$tmp/s3.html" | grep '^<tr><td' |
    sed 's/^<tr><td[^>]*>[^<]*<\/td><td>\([^<]*\)<.*/\1/' | sort -u | tr '\n' ' ')
[ "$kinds" = "nts-v4 " ] && ok "only nts-v4 samples" || bad "kinds shown: '$kinds'"
has s3 '<option selected>nts-v4</option>' "the filter keeps its choice"
web s3b a GET "/time-sources/$SRC?kind=nts-v4&page=2"
has s3b 'kind=nts-v4&amp;monitor=&amp;page=1' "paging keeps the filter"
MON_B=$(grep -o '<option value="[0-9]*">builtin</option>' "$tmp/s1.html" | tr -dc 0-9)
MON_H=$(grep -o '<option value="[0-9]*">&lt;script' "$tmp/s1.html" | grep -o '"[0-9]*"' | tr -dc 0-9)
web s4 a GET "/time-sources/$SRC?monitor=$MON_B"
code_is s4 200 "filter by the built-in monitor"
[ "$(rows s4)" = 50 ] && ok "its samples" || bad "$(rows s4) rows for the built-in monitor"
web s5 a GET "/time-sources/$SRC?monitor=$MON_H"
code_is s5 200 "filter by the hostile-named monitor"
has s5 'No samples match yet' "it has no samples"
has s5 "<option value=\"$MON_H\" selected>&lt;script&gt;&quot;&amp;&#39;</option>" "selected, escaped"
web s6 a GET "/time-sources/$SRC?kind=bogus"
code_is s6 400 "unknown kind"
secure_page s6 personal
web s7 a GET "/time-sources/$SRC?page=0"
code_is s7 400 "page 0"
web s8 a GET "/time-sources/$SRC?monitor=424242"
code_is s8 400 "unknown monitor"
web s9 a GET "/time-sources/$SRC?page=99999"
code_is s9 200 "a page past the end"
has s9 'No samples on this page' "says so"
web l1 a GET /time-sources
has l1 'class="num score-' "scores shown with their class"
grep -o 'class="num score-[a-z]*" data-label="[^"]*">-\?[0-9]*\.[0-9]<' "$tmp/l1.html" >/dev/null &&
    ok "scores with one decimal" || bad "no score with one decimal"

finish
