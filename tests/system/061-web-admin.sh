#!/bin/sh
# System test: the admin pages.  An administrator (user-add --admin, first
# password through /set-password) sees /admin, the users (block, unblock),
# the monitors (create: the key shown once; revoke) and every source; for
# everyone else each /admin path is 404 (303 to /login when logged out).
# A blocked user cannot log in and their session and API tokens stop
# working until unblocked.  Hostile names are escaped; every page carries
# the security headers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web-lib.sh"

D=$BIN/ntspoold
need_tools jq curl python3 unshare
DPID=""
stop_at_exit DPID

ntspoold_conf <<EOC
[monitor]
builtin = yes
interval = 600
allow_private = yes
clock_check = no
EOC
ntspoold_start "$CONF" "$tmp/d.log" "$URL" || exit 1
PW=admin-password-1

echo "== accounts"
ATOK=$("$D" -c "$CONF" user-add root@example.org --admin 2>/dev/null)
web a0 adm POST /set-password "email=root%40example.org&token=$ATOK&password=$PW&password2=$PW"
location_is a0 /time-sources
web u0 usr POST /register "email=$(urlenc 'dan&<i>@example.org')&password=$PW&password2=$PW"
code_is u0 400 "a hostile e-mail is refused"
web u1 usr POST /register "email=$(urlenc 'dan&co@example.org')&password=$PW&password2=$PW"
location_is u1 /time-sources
UTOK=$("$D" -c "$CONF" token-add 'dan&co@example.org' cli 2>/dev/null)
api src POST /api/v1/time-sources '{"host": "dan.example.org", "port": 4461}' "$UTOK"
status_is src 201 "dan adds a source"

echo "== not for others"
for p in /admin /admin/ /admin/users /admin/monitors /admin/sources /admin/nothing; do
    n=na$(echo "$p" | tr -c 'a-z\n' '_')
    web "$n" usr GET "$p"
    code_is "$n" 404 "non-admin GET $p"
    secure_page "$n" personal
    lacks "$n" "root@example.org" "$p: nothing of the admin pages"
done
web ucsrf usr GET /account
CSRF_U=$(csrf_of ucsrf)
web nb usr POST /admin/users/1/block "csrf=$CSRF_U"
code_is nb 404 "non-admin POST block"
web nm usr POST /admin/monitors "csrf=$CSRF_U&name=evil"
code_is nm 404 "non-admin POST monitor"
web lo "" GET /admin/users
location_is lo /login

echo "== overview and users"
web ov adm GET /admin
code_is ov 200 "admin overview"
secure_page ov personal
has ov 'Users</a>: 2' "two users"
has ov 'Time sources</a>: 1' "one source"
web us adm GET /admin/users
code_is us 200 "users page"
secure_page us personal
has us 'dan&amp;co@example.org' "user e-mail escaped"
lacks us 'dan&co@' "no raw &"
CSRF_A=$(csrf_of us)
DAN=$(grep -o 'action="/admin/users/[0-9]*/block"' "$tmp/us.html" | head -n 1 | tr -dc 0-9)
ROOT=$(sed -n 's/.*<td class="num">\([0-9]*\)<\/td><td>root@example.org.*/\1/p' "$tmp/us.html")
[ -n "$DAN" ] && ok "a block button for dan ($DAN)" || bad "no block button"
web self adm POST "/admin/users/$ROOT/block" "csrf=$CSRF_A"
code_is self 404 "an admin cannot block themself"
web bx adm POST "/admin/users/$DAN/block" ""
code_is bx 403 "block without the CSRF token"
web b1 adm POST "/admin/users/$DAN/block" "csrf=$CSRF_A"
location_is b1 /admin/users
web b2 usr GET /account
location_is b2 /login
api b3 GET /api/v1/time-sources "" "$UTOK"
status_is b3 401 "a blocked user's API token"
login b4 usr 'dan&co@example.org' "$PW"
code_is b4 403 "a blocked user cannot log in"
has b4 "blocked"
web b5 adm GET /admin/users
has b5 '>blocked<' "shown as blocked"
web b6 adm POST "/admin/users/$DAN/unblock" "csrf=$CSRF_A"
location_is b6 /admin/users
api b7 GET /api/v1/time-sources "" "$UTOK"
status_is b7 200 "unblocked: the token works again"
login b8 usr 'dan&co@example.org' "$PW"
location_is b8 /time-sources
web b9 adm POST /admin/users/99999/block "csrf=$CSRF_A"
code_is b9 404 "an unknown user"

echo "== monitors"
web m0 adm GET /admin/monitors
code_is m0 200 "monitors page"
secure_page m0 personal
has m0 '<td>builtin</td>' "the built-in monitor is listed"
lacks m0 'monitors/1/revoke' "the built-in monitor has no revoke button"
has m0 '<th scope="col">Samples sent</th>' "the monitors page counts the samples each sent"
mname='<img src=x onerror="a">&fra1'
web m1 adm POST /admin/monitors "csrf=$CSRF_A&name=$(urlenc "$mname")"
code_is m1 200 "monitor made"
secure_page m1 personal
MKEY=$(grep -o 'ntspm_[0-9a-f]\{64\}' "$tmp/m1.html" | head -n 1)
[ -n "$MKEY" ] && ok "the key is shown once" || bad "no key"
has m1 '&lt;img src=x onerror=&quot;a&quot;&gt;&amp;fra1' "monitor name escaped"
web m2 adm POST /admin/monitors "csrf=$CSRF_A&name=$(urlenc "$mname")"
code_is m2 409 "the same name twice"
web m3 adm GET /admin/monitors
lacks m3 "$MKEY" "the list never shows the key"
lacks m3 '<img' "no raw markup"
MID=$(grep -o 'action="/admin/monitors/[0-9]*/revoke"' "$tmp/m3.html" | head -n 1 | tr -dc 0-9)
web m4 adm POST "/admin/monitors/$MID/revoke" "csrf=$CSRF_A"
location_is m4 /admin/monitors
web m5 adm GET /admin/monitors
has m5 '<td>revoked</td>' "revoked"
web m6 adm POST /admin/monitors/1/revoke "csrf=$CSRF_A"
code_is m6 404 "the built-in monitor cannot be revoked here"

echo "== all sources"
web s1 adm GET /admin/sources
code_is s1 200 "all sources"
secure_page s1 personal
has s1 'dan.example.org:4461' "dan's source"
has s1 'dan&amp;co@example.org' "with its owner, escaped"

echo "== methods"
web x1 adm DELETE /admin/users
code_is x1 405 "DELETE on a page"
web x2 adm POST /admin/users "csrf=$CSRF_A"
code_is x2 405 "POST on a list page"

kill "$DPID"
wait "$DPID"
st=$?
DPID=""
[ $st -eq 0 ] && ok "clean stop" || bad "exit status $st"
if grep -qE "$PW|$MKEY|$ATOK" "$tmp/d.log"; then bad "a secret in the log"; else ok "no secret in the log"; fi
finish
