/* html.c - escaping, the markup printf, the page layout, form pieces, the
 * stylesheet and the security headers (see html.h for the rules).
 *
 * Escaping by default is the point: html_printf's %s escapes, and raw
 * markup has to be asked for with %r, so a forgotten call leaves text
 * escaped rather than a hole.  The stylesheet lives here as a string so the
 * binary serves it with no file to install; it uses system fonts only. */
#include "web/html.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "scorer/score.h"

/* ---- escaping ----------------------------------------------------------------- */

static const char *
entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

int
html_text_n(struct evbuffer *b, const char *s, size_t n)
{
    size_t start = 0;

    if (!s)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = entity(s[i]);
        if (!e)
            continue;
        if (i > start && evbuffer_add(b, s + start, i - start) != 0)
            return -1;
        if (evbuffer_add(b, e, strlen(e)) != 0)
            return -1;
        start = i + 1;
    }
    return n > start ? evbuffer_add(b, s + start, n - start) : 0;
}

int
html_text(struct evbuffer *b, const char *s)
{
    return s ? html_text_n(b, s, strlen(s)) : 0;
}

size_t
html_escape(char *out, size_t outlen, const char *s)
{
    size_t need = 0, o = 0;
    bool full = outlen == 0;

    for (; s && *s; s++) {
        const char *e = entity(*s);
        size_t k = e ? strlen(e) : 1;

        need += k;
        if (full || o + k >= outlen) {
            full = true;
            continue;
        }
        if (e)
            memcpy(out + o, e, k);
        else
            out[o] = *s;
        o += k;
    }
    if (outlen)
        out[o] = '\0';
    return need;
}

static bool
unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

int
html_url(struct evbuffer *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char enc[3] = {'%', hex[c >> 4], hex[c & 15]};

        if (unreserved(c) ? evbuffer_add(b, s, 1) != 0 : evbuffer_add(b, enc, 3) != 0)
            return -1;
    }
    return 0;
}

int
html_printf(struct evbuffer *b, const char *fmt, ...)
{
    va_list ap;
    const char *p = fmt, *lit = fmt;
    int rc = 0;

    va_start(ap, fmt);
    while (rc == 0 && *p) {
        char num[32];

        if (*p != '%') {
            p++;
            continue;
        }
        if (p > lit && evbuffer_add(b, lit, (size_t)(p - lit)) != 0) {
            rc = -1;
            break;
        }
        switch (p[1]) {
        case 's':
            rc = html_text(b, va_arg(ap, const char *));
            break;
        case 'u':
            rc = html_url(b, va_arg(ap, const char *));
            break;
        case 'r': {
            const char *raw = va_arg(ap, const char *);
            rc = raw ? evbuffer_add(b, raw, strlen(raw)) : 0;
            break;
        }
        case 'd':
            snprintf(num, sizeof(num), "%d", va_arg(ap, int));
            rc = evbuffer_add(b, num, strlen(num));
            break;
        case 'j':
            snprintf(num, sizeof(num), "%lld", (long long)va_arg(ap, int64_t));
            rc = evbuffer_add(b, num, strlen(num));
            break;
        case '%':
            rc = evbuffer_add(b, "%", 1);
            break;
        default:
            rc = -1; /* a bug in fmt: stop rather than guess */
            break;
        }
        if (rc != 0)
            break;
        p += 2;
        lit = p;
    }
    if (rc == 0 && p > lit && evbuffer_add(b, lit, (size_t)(p - lit)) != 0)
        rc = -1;
    va_end(ap);
    return rc;
}

/* ---- layout --------------------------------------------------------------------- */

int
html_begin(struct evbuffer *b, const char *title, const struct html_viewer *v)
{
    int rc = html_printf(b,
                         "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                         "<meta charset=\"utf-8\">\n"
                         "<meta name=\"viewport\" content=\"width=device-width, "
                         "initial-scale=1\">\n"
                         "<title>%s - ntspool</title>\n"
                         "<link rel=\"stylesheet\" href=\"%r\">\n"
                         "</head>\n<body>\n"
                         "<header class=\"site\"><nav aria-label=\"Main\">\n"
                         "<a class=\"brand\" href=\"/\">ntspool</a>\n<ul>\n",
                         title, HTML_STYLESHEET_PATH);

    if (v && v->email) {
        rc |= html_printf(b, "<li><a href=\"/time-sources\">Time sources</a></li>\n"
                             "<li><a href=\"/account\">Account</a></li>\n");
        if (v->is_admin)
            rc |= html_printf(b, "<li><a href=\"/admin\">Admin</a></li>\n");
        rc |= html_printf(b, "<li class=\"who\">%s</li>\n<li>", v->email);
        rc |= html_form_begin(b, "/logout", "inline", v->csrf);
        rc |= html_printf(b, "<button type=\"submit\" class=\"link\">Log out</button>"
                             "</form></li>\n");
    } else {
        rc |= html_printf(b, "<li><a href=\"/login\">Log in</a></li>\n"
                             "<li><a href=\"/register\">Register</a></li>\n");
    }
    rc |= html_printf(b, "</ul>\n</nav></header>\n<main>\n<h1>%s</h1>\n", title);
    return rc ? -1 : 0;
}

int
html_end(struct evbuffer *b)
{
    static const char tail[] =
        "</main>\n<footer class=\"site\"><p>ntspool: monitoring and scoring of NTS "
        "(RFC 8915) time servers. The JSON API is at <code>/api/v1/</code>.</p>"
        "</footer>\n</body>\n</html>\n";

    return evbuffer_add(b, tail, sizeof(tail) - 1);
}

int
html_form_begin(struct evbuffer *b, const char *action, const char *cls, const char *csrf)
{
    int rc = html_printf(b, "<form method=\"post\" action=\"%s\"", action);

    if (cls)
        rc |= html_printf(b, " class=\"%s\"", cls);
    rc |= html_printf(b, ">");
    if (csrf)
        rc |= html_printf(b, "<input type=\"hidden\" name=\"%r\" value=\"%s\">",
                          HTML_CSRF_FIELD, csrf);
    return rc ? -1 : 0;
}

int
html_form_end(struct evbuffer *b, const char *submit)
{
    return html_printf(b, "<p><button type=\"submit\">%s</button></p></form>\n", submit);
}

int
html_field(struct evbuffer *b, const char *type, const char *name, const char *label,
           const char *value, const char *ac, int maxlen)
{
    int rc = html_printf(b,
                         "<p><label for=\"f-%s\">%s</label>"
                         "<input id=\"f-%s\" name=\"%s\" type=\"%s\"",
                         name, label, name, name, type);

    if (value)
        rc |= html_printf(b, " value=\"%s\"", value);
    if (ac)
        rc |= html_printf(b, " autocomplete=\"%s\"", ac);
    if (maxlen > 0)
        rc |= html_printf(b, " maxlength=\"%d\"", maxlen);
    rc |= html_printf(b, " required></p>\n");
    return rc ? -1 : 0;
}

int
html_notice(struct evbuffer *b, const char *kind, const char *text)
{
    return html_printf(b, "<p class=\"notice %s\" role=\"%r\">%s</p>\n", kind,
                       strcmp(kind, "error") == 0 ? "alert" : "status", text);
}

void
html_security_headers(struct evkeyvalq *h, bool personal)
{
    evhttp_add_header(h, "Content-Security-Policy", HTML_CSP);
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "same-origin");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (personal)
        evhttp_add_header(h, "Cache-Control", "no-store");
}

const char *
html_time(char out[HTML_TIME_LEN], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t <= 0 || !gmtime_r(&tt, &tm) ||
        strftime(out, HTML_TIME_LEN, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(out, HTML_TIME_LEN, "never");
    return out;
}

const char *
html_score_class(bool applicable, bool scored, double score)
{
    if (!applicable || !scored || score != score)
        return "score-na";
    if (score > SCORE_IN_POOL)
        return "score-good";
    return score >= 0 ? "score-rising" : "score-bad";
}

/* ---- the stylesheet ------------------------------------------------------------- */

/* System fonts, one column on a phone, a centred measure on a wide screen;
   contrast at least 4.5:1 on every text colour; a focus ring on everything
   that takes focus; score colours carry a text label too (never colour
   alone).  No @import, no url(): nothing else is fetched. */
const char html_stylesheet[] =
    ":root{--fg:#1b1f24;--bg:#ffffff;--muted:#4a5360;--line:#c9d1d9;--accent:#0b57d0;"
    "--good:#0f6b2f;--good-bg:#e3f4e8;--rising:#7a4a00;--rising-bg:#fff1d6;"
    "--bad:#a4161a;--bad-bg:#fde7e7;--na:#4a5360;--na-bg:#eef1f4;--focus:#ffbf47}\n"
    "*{box-sizing:border-box}\n"
    "html{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\","
    "sans-serif;font-size:100%;line-height:1.5;color:var(--fg);background:var(--bg)}\n"
    "body{margin:0}\n"
    "main,header.site nav,footer.site p{max-width:84rem;margin:0 auto;padding:0 1rem}\n"
    /* wide for the tables; prose keeps a readable measure */
    "main p,main form:not(.inline){max-width:48rem}\n"
    "main{padding-bottom:2rem}\n"
    "header.site{border-bottom:1px solid var(--line);background:#f6f8fa}\n"
    "header.site nav{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.25rem;"
    "padding-top:.6rem;padding-bottom:.6rem}\n"
    "header.site ul{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;list-style:none;"
    "margin:0;padding:0;align-items:center}\n"
    ".brand{font-weight:700;font-size:1.15rem;text-decoration:none;color:var(--fg)}\n"
    ".who{color:var(--muted);overflow-wrap:anywhere}\n"
    "footer.site{border-top:1px solid var(--line);color:var(--muted);font-size:.9rem;"
    "padding:1rem 0}\n"
    "a{color:var(--accent)}\n"
    "a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,"
    "textarea:focus-visible{outline:3px solid var(--focus);outline-offset:2px;"
    "box-shadow:0 0 0 5px var(--fg)}\n"
    "h1{font-size:1.6rem;margin:1.2rem 0 .8rem}\nh2{font-size:1.25rem;margin-top:1.6rem}\n"
    "form p{margin:.6rem 0}\n"
    "label{display:block;font-weight:600;margin-bottom:.2rem}\n"
    "input[type=text],input[type=email],input[type=password],input[type=number],"
    "select{width:100%;max-width:28rem;padding:.5rem;font:inherit;color:var(--fg);"
    "background:var(--bg);border:1px solid #6e7781;border-radius:4px}\n"
    "button{font:inherit;padding:.45rem 1rem;border-radius:4px;border:1px solid "
    "var(--accent);background:var(--accent);color:#fff;cursor:pointer}\n"
    "button.danger{background:var(--bad);border-color:var(--bad)}\n"
    "button.link{background:none;border:none;color:var(--accent);padding:0;"
    "text-decoration:underline}\n"
    "form.inline{display:inline;margin:0}\nform.inline p{display:inline;margin:0}\n"
    ".notice{padding:.6rem .8rem;border-radius:4px;border-left:4px solid}\n"
    ".notice.error{background:var(--bad-bg);color:var(--bad);border-color:var(--bad)}\n"
    ".notice.ok{background:var(--good-bg);color:var(--good);border-color:var(--good)}\n"
    ".notice.info{background:var(--na-bg);color:var(--fg);border-color:var(--muted)}\n"
    ".secret{font-family:ui-monospace,\"SFMono-Regular\",Menlo,Consolas,monospace;"
    "background:var(--na-bg);padding:.5rem;border:1px solid var(--line);"
    "overflow-wrap:anywhere;user-select:all}\n"
    "pre{background:var(--na-bg);padding:.6rem;overflow-x:auto}\n"
    ".table-wrap{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%;margin:.6rem 0}\n"
    "th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);"
    "vertical-align:top}\n"
    "th{background:#f6f8fa}\ntd.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".score-good{color:var(--good);background:var(--good-bg)}\n"
    ".score-rising{color:var(--rising);background:var(--rising-bg)}\n"
    ".score-bad{color:var(--bad);background:var(--bad-bg)}\n"
    ".score-na{color:var(--na);background:var(--na-bg)}\n"
    ".muted{color:var(--muted)}\n"
    "a.button{display:inline-block;padding:.3rem .8rem;border-radius:4px;border:1px "
    "solid var(--accent);color:var(--accent);background:var(--bg);text-decoration:none;"
    "white-space:nowrap;margin:.1rem 0}\n"
    "a.button.danger{color:var(--bad);border-color:var(--bad)}\n"
    "a.button:hover{background:var(--na-bg)}\n"
    ".warn{color:var(--rising);background:var(--rising-bg);font-weight:600}\n"
    ".out{color:var(--bad)}\n"
    ".hint{display:block;color:var(--muted);font-size:.9rem;margin-bottom:.2rem}\n"
    ".field-error{display:block;color:var(--bad);font-weight:600;margin-top:.2rem}\n"
    ".field.invalid input{border:2px solid var(--bad)}\n"
    ".empty{border:1px dashed var(--line);border-radius:4px;padding:.2rem 1rem}\n"
    "caption{text-align:left;color:var(--muted);font-size:.9rem;padding:.2rem 0}\n"
    "td.actions,.nowrap{white-space:nowrap}\n"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;"
    "margin:.6rem 0}\ndl.facts dt{font-weight:600}\ndl.facts dd{margin:0;"
    "overflow-wrap:anywhere}\n"
    "figure.graph{margin:.6rem 0;overflow-x:auto}\nfigure.graph svg{width:100%;"
    "height:auto;min-width:40rem;display:block}\n"
    "p.caption{color:var(--muted);font-size:.9rem;margin:.6rem 0 .2rem}\n"
    "table.sources thead th{white-space:nowrap}\ntd.out{min-width:14rem}\n"
    "table.samples td{white-space:nowrap}\ntable.samples td:last-child{white-space:"
    "normal;min-width:9rem}\n"
    "figcaption{color:var(--muted);font-size:.9rem}\n"
    "form.filters{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-end}\n"
    "form.filters select{width:auto;min-width:8rem}\n"
    ".pager{margin:.6rem 0;display:flex;gap:1rem}\n"
    ".diag{border-left:4px solid var(--line);padding-left:.8rem;margin:.6rem 0}\n"
    ".diag h3{margin:.2rem 0}\n"
    "table.samples{font-size:.9rem}\n"
    "pre.config{white-space:pre-wrap;overflow-wrap:anywhere}\n"
    "@media (max-width:40rem){h1{font-size:1.35rem}th,td{padding:.3rem}"
    /* the sources table as one card per source, each value with its label */
    "table.sources thead{position:absolute;width:1px;height:1px;overflow:hidden;"
    "clip:rect(0 0 0 0)}\ntable.sources,table.sources tbody,table.sources tr,"
    "table.sources th,table.sources td{display:block;width:auto;min-width:0}\n"
    "table.sources tr{border:1px solid var(--line);border-radius:4px;margin:.6rem 0}\n"
    "table.sources td{display:flex;gap:.5rem;text-align:left;border-bottom:none}\n"
    "table.sources td::before{content:attr(data-label);font-weight:600;min-width:6.5rem;"
    "color:var(--fg)}\n"
    "dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.3rem}}\n";
const size_t html_stylesheet_len = sizeof(html_stylesheet) - 1;
