#!/usr/bin/env python3
"""Capture a raw NTS-KE response, for the fuzzer's seed corpus.

usage: capture-ke.py HOST PORT CAFILE OUTFILE [AEAD ...]
Sends a plain RFC 8915 request (Next Protocol 0, the AEADs given, default 15)
in one write over TLS 1.3 with ALPN ntske/1 and stores the bytes received up
to the close.  A development tool, not used by the tests."""
import socket, ssl, struct, sys

host, port, ca, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
aeads = [int(a) for a in sys.argv[5:]] or [15]
req = struct.pack("!HHH", 0x8001, 2, 0)
req += struct.pack("!HH", 0x8004, 2 * len(aeads)) + b"".join(struct.pack("!H", a) for a in aeads)
req += struct.pack("!HH", 0x8000, 0)
ctx = ssl.create_default_context(cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.set_alpn_protocols(["ntske/1"])
with socket.create_connection((host, port), timeout=5) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(req)
        data = b""
        while len(data) < 65536:
            try:
                chunk = s.recv(65536)
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            data += chunk
with open(out, "wb") as f:
    f.write(data)
print(f"{out}: {len(data)} bytes")
