#!/bin/sh
# System test: the web pages' foundation and accounts, with curl as the
# browser (a cookie jar per user):
#  - security headers and no inline script or style on every page;
#  - register (rules, duplicates), log in, log out (the old cookie is dead);
#  - CSRF: forms and the API by session cookie refuse a missing or wrong
#    token (403); a cross-site Origin is refused; the forms before a session
#    (login, register, set-password) refuse a post without the pre-session
#    cookie and its matching token, even without an Origin header;
#  - a failed login says the same for an unknown e-mail, in a similar time;
#  - API tokens on /account: made (shown once), used, listed, revoked; another
#    user's token or source is 404;
#  - the account made by `ntspoold user-add` sets its first password with its
#    API token, once;
#  - hostile strings (<script>, quotes, &) are escaped wherever shown;
#  - sessions end after [http] session_idle unused, and session_max in all
#    (both set small by a SIGHUP reload);
#  - the login slow-down per account, then per address (429, Retry-After).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web-lib.sh"

D=$BIN/ntspoold
need_tools jq curl python3 unshare
DPID=""
stop_at_exit DPID

write_conf() { # session_idle session_max
    ntspoold_conf <<EOC
[http]
session_idle = $1
session_max = $2
[monitor]
builtin = no
allow_private = yes
clock_check = no
[log]
level = info
EOC
}
write_conf 7200 604800
ntspoold_start "$CONF" "$tmp/d.log" "$URL" || exit 1

PW=correct-horse-battery
echo "== public pages: headers, no inline script or style"
for p in / /login /register /set-password /no-such-page; do
    n=pub$(echo "$p" | tr -c 'a-z\n' '_')
    web "$n" "" GET "$p"
    secure_page "$n" personal
done
code_is pub_ 200 "landing"
has pub_ 'href="/register"' "landing links to register"
code_is pub_no_such_page 404 "unknown page"
web css "" GET /static/style.css
code_is css 200 "stylesheet"
header_is css Content-Type "text/css; charset=utf-8"
secure_page css
has css ".score-good" "stylesheet has the score classes"

echo "== register"
web r1 a POST /register "email=alice%40example.org&password=short&password2=short"
code_is r1 400 "password under 10 characters"
has r1 "shorter than 10 characters"
web r2 a POST /register "email=alice%40example.org&password=$PW&password2=${PW}x"
code_is r2 400 "passwords differ"
long=$(python3 -c 'print("é" * 129)') # 258 bytes
web r3 a POST /register "email=alice%40example.org&password=$(urlenc "$long")&password2=$(urlenc "$long")"
code_is r3 400 "password over 256 bytes"
hostile='<script>alert("x")</script>@x.org'
web r4 a POST /register "email=$(urlenc "$hostile")&password=$PW&password2=$PW"
code_is r4 400 "hostile e-mail refused"
lacks r4 '<script>alert' "hostile e-mail escaped in the form"
has r4 '&lt;script&gt;alert(&quot;x&quot;)' "hostile e-mail shown as text"
web r5 a POST /register "email=$(urlenc 'a&b@example.org')&password=$PW&password2=$PW"
location_is r5 /time-sources
grep -qi '^Set-Cookie: ntspool_session=[0-9a-f]\{64\}; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax' \
    "$tmp/r5.hdr" && ok "session cookie: HttpOnly, SameSite=Lax, Path=/" || bad "session cookie flags"
web r6 "" POST /register "email=$(urlenc 'A&B@example.org')&password=$PW&password2=$PW"
code_is r6 409 "same e-mail (other case) again"
web home a GET /
location_is home /time-sources
web ts a GET /time-sources
code_is ts 200 "time sources"
secure_page ts personal
has ts 'a&amp;b@example.org' "e-mail with & escaped in the header"
lacks ts 'a&b@example.org' "no raw & in the page"
web acc a GET /account
code_is acc 200 "account page"
secure_page acc personal
CSRF_A=$(csrf_of acc)
[ ${#CSRF_A} -eq 48 ] && ok "account page carries a CSRF token" || bad "CSRF token '$CSRF_A'"
has acc 'action="/account/alerts"' "account page: the alert settings form"
has acc 'No alert sent yet.' "account page: the (empty) list of alerts sent"

echo "== alert settings on the account page"
web al1 a POST /account/alerts "email=ops%40example.org&webhook="
code_is al1 403 "alert settings without the CSRF token"
web al2 a POST /account/alerts "csrf=$CSRF_A&email=ops%40example.org&webhook="
location_is al2 /account
web al3 a GET /account
has al3 'value="ops@example.org"' "the saved e-mail is shown"
web al4 a POST /account/alerts "csrf=$CSRF_A&email=not+an+address&webhook="
code_is al4 400 "an invalid e-mail address"
has al4 'not saved' "the page says why"
web al5 a POST /account/alerts "csrf=$CSRF_A&email=&webhook=ftp%3A%2F%2Fx.example%2F"
code_is al5 400 "a webhook that is not https"
web al6 a GET /account
has al6 'value="ops@example.org"' "a refused change keeps the old settings"

echo "== CSRF"
web c1 a POST /account/tokens "name=x"
code_is c1 403 "form without the token"
secure_page c1 personal
web c2 a POST /account/tokens "csrf=0000&name=x"
code_is c2 403 "form with a wrong token"
web c3 a POST /account/tokens "csrf=${CSRF_A}00&name=x"
code_is c3 403 "form with a longer token"
web c4 a POST /logout ""
code_is c4 403 "log out without the token"
web c5 a POST /api/v1/time-sources '{"host": "time.example.org"}' -H 'Content-Type: application/json'
code_is c5 403 "API POST with the cookie, no X-CSRF-Token"
web c6 a POST /api/v1/time-sources '{"host": "time.example.org"}' -H 'Content-Type: application/json' \
    -H "X-CSRF-Token: bad"
code_is c6 403 "API POST with a wrong X-CSRF-Token"
web c7 a POST /api/v1/time-sources '{"host": "time.example.org"}' -H 'Content-Type: application/json' \
    -H "X-CSRF-Token: $CSRF_A"
code_is c7 201 "API POST with the cookie and X-CSRF-Token"
SRC_A=$(jq -r .id "$tmp/c7.html")
web c8 a GET /api/v1/time-sources
code_is c8 200 "API GET by the session cookie"
[ "$(jq -r '.time_sources | length' "$tmp/c8.html")" = 1 ] && ok "the API lists alice's source" ||
    bad "API list by session"
web c9 "" POST /login "email=a%40example.org&password=x" -H "Origin: http://evil.example"
code_is c9 403 "a form from another site"

echo "== login CSRF: the pre-session token, even without an Origin header"
# Another site can post a form to /login (the victim then works in the
# attacker's account) and may send no Origin; it can neither read our
# cookie nor make a token that matches one.
pre_pair p1 /login
echo "$PRE_TOKEN" | grep -q '^[0-9a-f]\{64\}$' && ok "the login form carries a token" ||
    bad "login form token '$PRE_TOKEN'"
curl -s -D "$tmp/p1.hdr" -o /dev/null "$URL/register" >/dev/null
grep -qi '^Set-Cookie: ntspool_pre=[0-9a-f]\{32\}; Path=/; Max-Age=86400; HttpOnly; SameSite=Strict' \
    "$tmp/p1.hdr" && ok "pre-session cookie: HttpOnly, SameSite=Strict, Path=/" ||
    bad "pre-session cookie flags: $(grep -i set-cookie "$tmp/p1.hdr")"
good="email=$(urlenc 'a&b@example.org')&password=$PW"
pre_post() { # NAME CURL-ARGS...: POST /login with the good credentials
    n=$1; shift
    curl -s -D "$tmp/$n.hdr" -o "$tmp/$n.html" -w '%{http_code}' "$@" "$URL/login" \
        >"$tmp/$n.rc" 2>/dev/null
}
pre_post x1 --data-raw "$good"
code_is x1 403 "login CSRF: no token, no cookie, no Origin"
grep -qi '^Set-Cookie: ntspool_session=[0-9a-f]' "$tmp/x1.hdr" && bad "x1 logged in" || ok "x1: no session"
pre_post x2 --data-raw "$good&csrf=$PRE_TOKEN"
code_is x2 403 "login CSRF: a valid token without its cookie"
T1=$PRE_TOKEN N1=$PRE_NONCE
pre_pair p2 /login
pre_post x3 -b "$PRE_COOKIE=$PRE_NONCE" --data-raw "$good&csrf=$T1"
code_is x3 403 "login CSRF: the token of another cookie"
pre_post x4 -b "$PRE_COOKIE=$N1" --data-raw "$good&csrf=$(printf '%064d' 0)"
code_is x4 403 "login CSRF: a made-up token"
pre_post x5 -b "$PRE_COOKIE=$N1" --data-raw "$good&csrf=$T1"
location_is x5 /time-sources
grep -qi '^Set-Cookie: ntspool_session=[0-9a-f]' "$tmp/x5.hdr" && ok "x5: the matching pair logs in" ||
    bad "x5: no session"
curl -s -o "$tmp/x6.html" -w '%{http_code}' --data-raw "email=eve%40example.org&password=$PW&password2=$PW" \
    "$URL/register" >"$tmp/x6.rc" 2>/dev/null
code_is x6 403 "register CSRF: no token"
curl -s -o "$tmp/x7.html" -w '%{http_code}' --data-raw "email=eve%40example.org&token=x&password=$PW&password2=$PW" \
    "$URL/set-password" >"$tmp/x7.rc" 2>/dev/null
code_is x7 403 "set-password CSRF: no token"
web c10 a GET /time-sources
has c10 '>time.example.org</a>' "the page lists the source (port 4460 not shown)"

echo "== API tokens on /account"
tname='<b>"ci" & co</b>'
web t1 a POST /account/tokens "csrf=$CSRF_A&name=$(urlenc "$tname")"
code_is t1 200 "token made"
secure_page t1 personal
TOK_A=$(grep -o 'ntsp_[0-9a-f]\{64\}' "$tmp/t1.html" | head -n 1)
[ -n "$TOK_A" ] && ok "token shown once" || bad "no token on the page"
has t1 '&lt;b&gt;&quot;ci&quot; &amp; co&lt;/b&gt;' "token name escaped"
api t2 GET /api/v1/time-sources "" "$TOK_A"
status_is t2 200 "the new token works"
web t3 a GET /account
has t3 '&lt;b&gt;&quot;ci&quot; &amp; co&lt;/b&gt;' "token listed, escaped"
lacks t3 "$TOK_A" "the list never shows the token"
TID=$(grep -o 'action="/account/tokens/[0-9]*/delete"' "$tmp/t3.html" | head -n 1 | tr -dc 0-9)

echo "== a second user: ownership"
web b1 b POST /register "email=bob%40example.org&password=$PW&password2=$PW"
location_is b1 /time-sources
web b2 b GET /account
CSRF_B=$(csrf_of b2)
web b3 b POST "/account/tokens/$TID/delete" "csrf=$CSRF_B"
code_is b3 404 "bob cannot revoke alice's token"
web b4 b GET "/api/v1/time-sources/$SRC_A"
code_is b4 404 "bob cannot see alice's source by the API"
web b5 b GET /time-sources
lacks b5 '>time.example.org</a>' "bob's list does not show alice's source"
web b6 b POST /account/tokens "csrf=$CSRF_A&name=x"
code_is b6 403 "alice's CSRF token is not bob's"
web t4 a POST "/account/tokens/$TID/delete" "csrf=$CSRF_A"
location_is t4 /account
api t5 GET /api/v1/time-sources "" "$TOK_A"
status_is t5 401 "revoked token refused"

echo "== log out"
cp "$tmp/a.jar" "$tmp/old.jar"
web o1 a POST /logout "csrf=$CSRF_A"
location_is o1 /
grep -qi '^Set-Cookie: ntspool_session=;.*Max-Age=0' "$tmp/o1.hdr" && ok "cookie cleared" ||
    bad "cookie not cleared"
web o2 old GET /account
location_is o2 /login
web o3 old GET /api/v1/time-sources
code_is o3 401 "the old cookie no longer works on the API"

echo "== failed logins say the same, in similar time"
login f1 "" 'a&b@example.org' wrong-password-1
login f2 "" nobody@example.org wrong-password-1
code_is f1 403 "wrong password"
code_is f2 403 "unknown e-mail"
has f1 "Wrong e-mail address or password."
has f2 "Wrong e-mail address or password."
t_known=0 t_unknown=0
pre_pair tm /login
for i in 1 2 3 4; do
    t=$(curl -s -o /dev/null -w '%{time_total}' -b "$tmp/tm.jar" \
        --data-raw "email=bob%40example.org&password=nope-$i&csrf=$PRE_TOKEN" "$URL/login")
    t_known=$(echo "$t_known + $t" | bc)
    t=$(curl -s -o /dev/null -w '%{time_total}' -b "$tmp/tm.jar" \
        --data-raw "email=nobody$i%40example.org&password=nope-$i&csrf=$PRE_TOKEN" "$URL/login")
    t_unknown=$(echo "$t_unknown + $t" | bc)
done
echo "login failure times: known $t_known s, unknown $t_unknown s"
# Both hash once (an unknown e-mail against a dummy hash); a factor of 3
# leaves room for a loaded machine, a skipped hash would be 100 times.
if [ "$(echo "$t_unknown * 3 >= $t_known && $t_known * 3 >= $t_unknown" | bc)" = 1 ]; then
    ok "unknown e-mail costs about the same as a wrong password"
else
    bad "timing differs: known $t_known s, unknown $t_unknown s"
fi
login l1 a 'A&B@example.org' "$PW"
location_is l1 /time-sources
web l2 a GET /account
code_is l2 200 "logged in again (e-mail in another case)"

echo "== the account made by user-add"
CAROL='carol&co@example.org'
UTOK=$("$D" -c "$CONF" user-add "$CAROL" 2>/dev/null)
echo "$UTOK" | grep -q '^ntsp_[0-9a-f]\{64\}$' && ok "user-add printed one token" || bad "user-add: '$UTOK'"
login u1 "" "$CAROL" "$PW"
code_is u1 403 "no password yet: login fails like any other"
web u2 "" POST /register "email=$(urlenc "$CAROL")&password=$PW&password2=$PW"
code_is u2 409 "register cannot claim it"
web u3 c POST /set-password "email=$(urlenc "$CAROL")&token=$TOK_A&password=$PW&password2=$PW"
code_is u3 403 "another user's (revoked) token does not prove it"
web u4 c POST /set-password "email=$(urlenc "$CAROL")&token=$UTOK&password=short&password2=short"
code_is u4 400 "set-password: the password rule"
web u5 c POST /set-password "email=$(urlenc "$CAROL")&token=$UTOK&password=$PW&password2=$PW"
location_is u5 /time-sources
web u6 c GET /account
code_is u6 200 "logged in after setting the password"
web u7 "" POST /set-password "email=$(urlenc "$CAROL")&token=$UTOK&password=other-password-9&password2=other-password-9"
code_is u7 403 "set-password works once"
login u8 "" "$CAROL" "$PW"
location_is u8 /time-sources
login u9 "" "$CAROL" other-password-9
code_is u9 403 "the second set-password did not change it"

echo "== session expiry (session_idle = 6, session_max = 10, by SIGHUP)"
# Expiry is in whole seconds: a session lives between idle - 1 and idle s
# after its last use, and between max - 1 and max s after its login; the
# margins leave a loaded machine 2 s per request.
write_conf 6 10
kill -HUP "$DPID"
sleep 0.5
login s1 s bob@example.org "$PW"
location_is s1 /time-sources
for i in 2 4 6 8; do
    sleep 2
    web "s2$i" s GET /account
    code_is "s2$i" 200 "used every 2 s: alive at about ${i} s"
done
sleep 3
web s3 s GET /account
location_is s3 /login # used 3 s ago (idle 6 s), but 11 s after the login
login s4 s bob@example.org "$PW"
location_is s4 /time-sources
sleep 7
web s5 s GET /account
location_is s5 /login # unused for 7 s
write_conf 7200 604800
kill -HUP "$DPID"
sleep 0.5

echo "== login slow-down per account"
# Past 5 failures each attempt waits 1, 2, 4... s after the latest failure;
# a loaded machine may take longer than the first wait per request, so
# attempt until refused.
i=0
while [ $i -lt 9 ]; do
    i=$((i + 1))
    login w "" bob@example.org "wrong-$i-password"
    [ "$(cat "$tmp/w.rc")" = 429 ] && break
done
code_is w 429 "slowed down after $((i - 1)) failures"
[ $i -ge 6 ] && ok "not before 5 failures" || bad "slowed after $((i - 1)) failures"
ra=$(grep -i '^Retry-After:' "$tmp/w.hdr" | tr -dc 0-9)
[ -n "$ra" ] && [ "$ra" -ge 1 ] && ok "Retry-After: $ra" || bad "Retry-After '$ra'"
has w "Too many failed attempts"
secure_page w personal
sleep $((ra + 1))
login w5 "" bob@example.org wrong-again-password
code_is w5 403 "after the wait, an attempt is answered"
login w6 "" bob@example.org "$PW"
code_is w6 429 "then the right password must wait (2 s) too"
ra=$(grep -i '^Retry-After:' "$tmp/w6.hdr" | tr -dc 0-9)
login w7 "" alice@example.org wrong-other
code_is w7 403 "another account is not slowed"
sleep $((ra + 1))
login w8 "" bob@example.org "$PW"
location_is w8 /time-sources

echo "== login slow-down per address"
i=0
last=""
while [ $i -lt 40 ]; do
    i=$((i + 1))
    login aw "" "nobody-$i@example.org" wrong-password
    last=$(cat "$tmp/aw.rc")
    [ "$last" = 429 ] && break
done
[ "$last" = 429 ] && ok "address slowed down after $i attempts" || bad "address never slowed ($last)"
[ $i -gt 1 ] && ok "not at once" || bad "address slowed at once"

kill "$DPID"
wait "$DPID"
st=$?
DPID=""
[ $st -eq 0 ] && ok "clean stop" || bad "exit status $st"
if grep -qE "$PW|$UTOK|ntspool_session=" "$tmp/d.log"; then bad "a secret in the log"; else ok "no secret in the log"; fi
finish
