#!/usr/bin/python3
"""Hostile HTTP clients for 081-hostile.sh (stdlib only).  Each command
prints one JSON object with what it saw; the shell test judges it.

  slow PORT N ADDRS SECONDS   N slowloris connections spread over the
        loopback addresses ADDRS (comma-separated), each trickling one header
        byte a second; meanwhile /healthz is timed 20 times from 127.0.0.1
        and /metrics read (with how many were then younger than 3.5 s);
        then waits up to SECONDS for the server to close them and reports
        when it did (seconds after each connect).
  slowbody PORT ADDR SECONDS  complete headers with Content-Length: 1000,
        then one body byte a second: when did the server close it (seconds
        after the end of the headers)?
  peraddr PORT ADDR OTHER N [SERVER]  N idle connections from ADDR (or
        from the comma-separated addresses in turn), then one more from
        ADDR's last (is it closed at once?) and a /healthz from OTHER; to
        SERVER (default 127.0.0.1; an IPv6 address for the /64 check).
  total PORT ADDRS N          N idle connections over ADDRS, then one more:
        is it closed at once?
  keepalive PORT SECONDS      two requests on one connection 1 s apart, then
        idle: both answered? when is it closed after the second reply?
"""
import json
import resource
import select
import socket
import sys
import time


def connect(port, addr, server="127.0.0.1"):
    s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET,
                      socket.SOCK_STREAM)
    s.bind((addr, 0))
    s.settimeout(5)
    s.connect((server, port))
    return s


def closed_within(s, seconds):
    """True when the server closes s (EOF or reset) within seconds."""
    s.settimeout(seconds)
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def get(port, path, addr="127.0.0.1", server="127.0.0.1"):
    """(status, body, seconds) of one GET on a fresh connection."""
    t0 = time.monotonic()
    s = connect(port, addr, server)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    dt = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body.decode("utf-8", "replace"), dt


def metrics(port):
    _, body, _ = get(port, "/metrics")
    out = {}
    for line in body.splitlines():
        if line.startswith("ntspool_http_connections"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def slow(port, n, addrs, seconds):
    raise_nofile()
    conns = {}
    t_open = time.monotonic()
    for i in range(n):
        s = connect(port, addrs[i % len(addrs)])
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        s.setblocking(False)
        conns[s.fileno()] = (s, time.monotonic())
    opened_in = time.monotonic() - t_open
    times = []
    m = metrics(port)
    for _ in range(20):
        st, _, dt = get(port, "/healthz")
        if st != 200:
            dt = 99.0
        times.append(dt)
        time.sleep(0.05)
    times.sort()
    m_during = metrics(port)
    t_during = time.monotonic()
    # Connected less than 3.5 s before /metrics answered: under 081's
    # header_timeout of 4 s the server must still hold these (on a loaded
    # machine the oldest may have reached their deadline already).
    young = sum(1 for _, t0 in conns.values() if t_during - t0 < 3.5)
    still_open = len(conns)
    closed_at = []
    early = 0
    deadline = time.monotonic() + seconds
    last_trickle = 0.0
    while conns and time.monotonic() < deadline:
        now = time.monotonic()
        if now - last_trickle >= 1.0:
            last_trickle = now
            for fd, (s, t0) in list(conns.items()):
                try:
                    s.send(b"a")
                except OSError:
                    pass
        r, _, _ = select.select(list(conns.keys())[:1000], [], [], 0.2)
        for fd in r:
            s, t0 = conns[fd]
            try:
                data = s.recv(4096)
            except (ConnectionResetError, BlockingIOError):
                data = b""
            if data:
                early += 1  # an answer to a request never completed
            closed_at.append(time.monotonic() - t0)
            s.close()
            del conns[fd]
    for s, _ in conns.values():
        s.close()
    closed_at.sort()
    print(json.dumps({
        "opened": n, "opened_in": round(opened_in, 3),
        "open_at_first_metrics": m.get("ntspool_http_connections"),
        "open_during": m_during.get("ntspool_http_connections"),
        "young_at_during": young,
        "still_open_after_healthz": still_open,
        "healthz_p50_ms": round(times[len(times) // 2] * 1000, 1),
        "healthz_max_ms": round(times[-1] * 1000, 1),
        "closed": len(closed_at), "answered": early,
        "closed_min_s": round(closed_at[0], 2) if closed_at else None,
        "closed_max_s": round(closed_at[-1], 2) if closed_at else None,
        "metrics_after": metrics(port),
    }))


def slowbody(port, addr, seconds):
    s = connect(port, addr)
    s.sendall(b"POST /monitoring/submit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
              b"\r\nContent-Length: 1000\r\n\r\n")
    t0 = time.monotonic()
    s.settimeout(1.0)
    closed = None
    got = b""
    while time.monotonic() - t0 < seconds:
        try:
            s.send(b" ")
        except OSError:
            closed = time.monotonic() - t0
            break
        try:
            b = s.recv(4096)
            if not b:
                closed = time.monotonic() - t0
                break
            got += b
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = time.monotonic() - t0
            break
    s.close()
    print(json.dumps({"closed_after_s": None if closed is None else round(closed, 2),
                      "answered": got[:40].decode("latin-1")}))


def peraddr(port, addr, other, n, server="127.0.0.1"):
    """addr may be a comma-separated list: the n held connections come from
    its items in turn, the extra one from the last."""
    addrs = addr.split(",")
    held = [connect(port, addrs[i % len(addrs)], server) for i in range(n)]
    time.sleep(0.3)
    extra = connect(port, addrs[-1], server)
    t0 = time.monotonic()
    refused = closed_within(extra, 2.0)
    refused_s = time.monotonic() - t0
    # the n held ones are still served: one of them sends a request
    held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    held[0].settimeout(5)
    first = held[0].recv(64)
    st, _, _ = get(port, "/healthz", other, server)
    for s in held + [extra]:
        s.close()
    print(json.dumps({"extra_closed": refused, "extra_closed_in_s": round(refused_s, 3),
                      "held_answered": first.startswith(b"HTTP/1.1 200"),
                      "other_status": st}))


def total(port, addrs, n):
    held = [connect(port, addrs[i % len(addrs)]) for i in range(n)]
    time.sleep(0.3)
    extra = connect(port, addrs[-1])
    refused = closed_within(extra, 2.0)
    for s in held + [extra]:
        s.close()
    time.sleep(0.3)
    st, _, _ = get(port, "/healthz")
    print(json.dumps({"extra_closed": refused, "after_status": st}))


def read_reply(s):
    """One reply with a Content-Length body; its status (0: none)."""
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(4096)
        if not b:
            return 0
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        b = s.recv(4096)
        if not b:
            break
        body += b
    return int(head.split(b" ", 2)[1])


def keepalive(port, seconds):
    s = connect(port, "127.0.0.80")
    s.settimeout(5)
    st = []
    for _ in range(2):
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        st.append(read_reply(s))
        t0 = time.monotonic()
        time.sleep(1)
    closed = closed_within(s, seconds)
    s.close()
    print(json.dumps({"statuses": st, "closed": closed,
                      "closed_after_s": round(time.monotonic() - t0, 2)}))


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    a = sys.argv[3:]
    if cmd == "slow":
        slow(port, int(a[0]), a[1].split(","), float(a[2]))
    elif cmd == "slowbody":
        slowbody(port, a[0], float(a[1]))
    elif cmd == "peraddr":
        peraddr(port, a[0], a[1], int(a[2]), *a[3:4])
    elif cmd == "total":
        total(port, a[0].split(","), int(a[1]))
    elif cmd == "keepalive":
        keepalive(port, float(a[0]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
