#!/usr/bin/python3
"""A real browser against ntspoold's pages (tests/system/069-browser.sh).

Debian's chromium, headless, driven by Debian's python3-selenium through
chromium-driver: register, log out, log in, add a time source, read the
token page, wait (bounded) for a score above 0 on the Time sources page,
open the details page and find the SVG graph and the samples table.  Saves
screenshots (desktop and phone width) into OUTDIR.  Prints "ok: ..." and
"FAIL: ..." lines; exit status 0 when all passed, 1 otherwise, 2 when the
browser cannot start.

usage: browser.py URL OUTDIR EMAIL PASSWORD HOST PORT [WAIT_SECONDS]
"""
import re
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

URL, OUT, EMAIL, PW, HOST, PORT = sys.argv[1:7]
WAIT = float(sys.argv[7]) if len(sys.argv) > 7 else 90
failures = 0


def ok(msg):
    print("ok:   " + msg, flush=True)


def bad(msg):
    global failures
    failures += 1
    print("FAIL: " + msg, flush=True)


def check(cond, msg):
    (ok if cond else bad)(msg)
    return cond


def start():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900", "--hide-scrollbars", "--lang=en-US"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    # a slow or loaded machine: look for elements (and wait for pages) a while
    d.implicitly_wait(10)
    d.set_page_load_timeout(30)
    return d


def shot(d, name, width=1280):
    """A full-page screenshot at the given viewport width."""
    d.set_window_size(width, 900)
    h = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(width, min(max(int(h) + 100, 600), 8000))
    path = "%s/%s.png" % (OUT, name)
    d.save_screenshot(path)
    d.set_window_size(1280, 900)
    ok("screenshot " + path)


def fill(d, field, value):
    e = d.find_element(By.ID, "f-" + field)
    e.clear()
    e.send_keys(value)


def gone(el):
    """Whether el's page has been replaced.  EC.staleness_of expects only
    StaleElementReferenceException; in the middle of a navigation chromedriver
    may answer "Node with given id does not belong to the document" instead
    (069 failed so once)."""
    try:
        el.is_enabled()
        return False
    except WebDriverException:
        return True


def submit(d, form_css="main form"):
    """Click a form's submit button and wait for the next page to replace this one."""
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.CSS_SELECTOR, form_css + " button[type=submit]").click()
    WebDriverWait(d, 30).until(lambda _: gone(old))
    WebDriverWait(d, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete")


def overflow(d):
    """Elements wider than the viewport outside the wrappers that scroll (tables, graph)."""
    return d.execute_script("""
        const w = document.documentElement.clientWidth, bad = [];
        for (const e of document.querySelectorAll('main *')) {
            if (e.closest('.table-wrap, figure.graph')) continue;  // these scroll
            const r = e.getBoundingClientRect();
            if (r.right > w + 1) bad.push(e.tagName + '.' + e.className);
        }
        return bad.slice(0, 5);""")


def main():
    try:
        d = start()
    except WebDriverException as e:
        print("FAIL: the browser does not start: %s" % str(e).splitlines()[0])
        return 2
    try:
        run(d)
    except WebDriverException as e:
        # the first line of the driver's message, not its stack of addresses
        msg = (e.msg or str(e)).splitlines()[0] if (e.msg or str(e)) else type(e).__name__
        try:
            where = d.current_url
            d.save_screenshot("%s/failure.png" % OUT)
            with open("%s/failure.html" % OUT, "w") as f:
                f.write(d.page_source)
        except WebDriverException:
            where = "?"
        bad("%s at %s: %s (page saved as failure.png/.html)" % (type(e).__name__, where, msg))
    finally:
        d.quit()
    return 1 if failures else 0


def run(d):
    d.get(URL + "/register")
    fill(d, "email", EMAIL)
    fill(d, "password", PW)
    fill(d, "password2", PW)
    submit(d)
    check(d.current_url.endswith("/time-sources"), "registered: on the Time sources page")
    check("No time sources yet" in d.page_source, "the empty state")
    submit(d, "header form")
    d.get(URL + "/login")
    fill(d, "email", EMAIL)
    fill(d, "password", PW)
    submit(d)
    check(d.current_url.endswith("/time-sources"), "logged in")

    fill(d, "host", HOST)
    fill(d, "port", PORT)
    submit(d, "form.add-form")
    token = d.find_element(By.ID, "token").text.strip()
    check(re.fullmatch(r"[0-9a-f]{64}", token) is not None, "the token page shows the token")
    configs = d.find_elements(By.CSS_SELECTOR, "pre.config")
    check(len(configs) == 3, "three configurations")
    check(all(token in c.text for c in configs), "each configuration carries the token")
    check(d.current_url.rstrip("/").endswith("/time-sources"), "no token in the URL")
    shot(d, "token")
    shot(d, "token-phone", 390)
    check(not overflow_at(d, 390), "token page: nothing overflows at phone width")
    link = d.find_element(By.CSS_SELECTOR, "main a[href^='/time-sources/']").get_attribute("href")

    end = time.time() + WAIT
    best = None
    while time.time() < end:
        d.get(URL + "/time-sources")
        vals = []
        for td in d.find_elements(By.CSS_SELECTOR, "table.sources td.num"):
            try:
                vals.append(float(td.text))
            except ValueError:
                pass
        best = max(vals) if vals else None
        if best is not None and best > 0:
            break
        time.sleep(1)
    check(best is not None and best > 0, "a score above 0 on the Time sources page (%s)" % best)
    check(token not in d.page_source, "the list does not show the token")
    shot(d, "time-sources")
    shot(d, "time-sources-phone", 390)

    d.get(link)
    check(len(d.find_elements(By.CSS_SELECTOR, "figure.graph svg")) == 1, "the SVG graph")
    rows = d.find_elements(By.CSS_SELECTOR, "table.samples tbody tr")
    check(len(rows) > 0, "the samples table (%d rows)" % len(rows))
    check(d.find_element(By.CSS_SELECTOR, "figure.graph svg").size["width"] > 300,
          "the graph is drawn wide")
    shot(d, "details")
    shot(d, "details-phone", 390)
    check(not overflow_at(d, 390), "details page: nothing overflows at phone width")


def overflow_at(d, width):
    d.set_window_size(width, 900)
    o = overflow(d)
    d.set_window_size(1280, 900)
    if o:
        print("      overflowing: %s" % ", ".join(o))
    return o


if __name__ == "__main__":
    sys.exit(main())
