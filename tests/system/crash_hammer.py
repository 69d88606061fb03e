"""A third monitor for 080-crash.sh: submits large batches of synthetic
results to POST /monitoring/submit one after the other, so that a SIGKILL of
ntspoold often lands in the middle of a submit (its parse, its transaction,
its commit or its answer).  Like an agent it resends a batch until it is
answered 2xx (a resubmission must be harmless).

usage: crash_hammer.py URL KEYFILE UUIDS ACKS MARKS
  KEYFILE its monitor key (first line)
  UUIDS  file with one source uuid per line
  ACKS   written: one line per result the service answered with 2xx:
         "KIND UUID EXCHANGE_START STATUS"
  MARKS  written: "send" before each request (the test times kills on it),
         and at the end one "stats" line of counters
Stops on SIGTERM after the batch in hand is answered or given up."""
import http.client
import json
import random
import signal
import sys
import time
import urllib.error
import urllib.request

url, key_file, uuids_file, acks_file, marks_file = sys.argv[1:6]
key = open(key_file).readline().strip()
uuids = [u.strip() for u in open(uuids_file) if u.strip()]
ITEMS_PER_BATCH = 120
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def exchange(t, off):
    return {"status": "Success", "request_sent": t, "roundtrip_duration": 0.004,
            "remote_residence_time": 0.00005, "offset": off, "stratum": 2,
            "leap_indicates_synchronized": True, "requested_cookies": 1,
            "received_cookies": 1}


def result(t):
    # Offsets over every band of offset_step, and past 3 s (rule 7, a cap).
    off = random.choice([0.001, 0.04, 0.3, 0.9, 4.0]) * random.choice([1, -1])
    return {"keyexchange": {"status": "Success", "description": "", "exchange_start": t,
                            "exchange_duration": 0.01, "num_cookies": 8},
            "ntp_with_ke_cookie": exchange(t, off),
            "ntp_with_ntp_cookie": exchange(t, off * 0.9)}


# Times in the past (within retention), one second per round of items, so
# that every result has its own (source, kind, time).
t = int(time.time()) - 24 * 3600
stats = {"batches": 0, "sent": 0, "answered": 0, "http_errors": 0, "refused": 0,
         "cut": 0, "slow": 0, "total_s": 0.0}
acks = open(acks_file, "a")
marks = open(marks_file, "a")
while not stop:
    items = []
    while len(items) < ITEMS_PER_BATCH:
        t += 1
        for u in uuids:
            for kind in ("Srvv4", "Srvv6"):
                items.append([[kind, u], result(t)])
    body = json.dumps(items).encode()
    stats["batches"] += 1
    for attempt in range(400):
        if stop and attempt > 0:
            break
        marks.write("send\n")
        marks.flush()
        stats["sent"] += 1
        t0 = time.monotonic()
        req = urllib.request.Request(url, body, {"Authorization": "Bearer " + key,
                                                 "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                ans = json.load(r)
        except urllib.error.HTTPError:
            stats["http_errors"] += 1
            time.sleep(0.05)
            continue
        except (http.client.RemoteDisconnected, ConnectionResetError,
                http.client.IncompleteRead, BrokenPipeError):
            stats["cut"] += 1  # the request was sent, the answer never came
            time.sleep(0.05)
            continue
        except (urllib.error.URLError, OSError):
            stats["slow"] += 1  # refused (the service is down) or timed out
            time.sleep(0.05)
            continue
        stats["total_s"] += time.monotonic() - t0
        stats["answered"] += 1
        for it, res in zip(items, ans["results"]):
            if res["status"] == "refused":
                stats["refused"] += 1
            acks.write("%s %s %d %s\n" % (it[0][0], it[0][1],
                                          it[1]["keyexchange"]["exchange_start"],
                                          res["status"]))
        acks.flush()
        break
    time.sleep(0.05)
marks.write("stats %s\n" % json.dumps(stats))
marks.flush()
