#!/usr/bin/env python3
"""Receivers for the alerts test (070-alerts.sh), on a loopback port the OS
picks: `http OUT PORTFILE` records each POSTed body as one JSON line of OUT
and answers 200; `smtp OUT PORTFILE` speaks enough SMTP for libcurl (EHLO or
HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and records each message as one
JSON line {"from", "rcpt", "data"}.  The port is written to PORTFILE."""
import http.server
import json
import socketserver
import sys

MAX = 1 << 20


def record(out, obj):
    with open(out, "a") as f:
        f.write(json.dumps(obj) + "\n")


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = min(int(self.headers.get("Content-Length", "0")), MAX)
        body = self.rfile.read(n).decode("utf-8", "replace")
        try:
            obj = json.loads(body)
        except ValueError:
            obj = {"unparsed": body}
        record(OUT, {"path": self.path, "ctype": self.headers.get("Content-Type"),
                     "body": obj})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Smtp(socketserver.StreamRequestHandler):
    def say(self, text):
        self.wfile.write((text + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self.say("220 sink ESMTP")
        data, sender, rcpt = None, "", []
        while True:
            line = self.rfile.readline(MAX)
            if not line:
                return
            if data is not None:
                if line in (b".\r\n", b".\n"):
                    record(OUT, {"from": sender, "rcpt": rcpt,
                                 "data": b"".join(data).decode("utf-8", "replace")})
                    data = None
                    self.say("250 queued")
                    continue
                if line.startswith(b".."):
                    line = line[1:]
                data.append(line)
                continue
            cmd = line.decode("ascii", "replace").strip()
            up = cmd.upper()
            if up.startswith("EHLO"):
                self.say("250-sink")
                self.say("250 8BITMIME")
            elif up.startswith("HELO"):
                self.say("250 sink")
            elif up.startswith("MAIL FROM:"):
                sender, rcpt = cmd[10:].strip(), []
                self.say("250 ok")
            elif up.startswith("RCPT TO:"):
                rcpt.append(cmd[8:].strip())
                self.say("250 ok")
            elif up == "DATA":
                data = []
                self.say("354 end with .")
            elif up in ("RSET", "NOOP"):
                self.say("250 ok")
            elif up == "QUIT":
                self.say("221 bye")
                return
            else:
                self.say("502 not implemented")


if __name__ == "__main__":
    mode, OUT, portfile = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "http":
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    else:
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
    open(OUT, "a").close()
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()
